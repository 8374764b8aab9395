using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Ports;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Rules;

/// <summary>
/// The consent rules of one profile, exactly as DESIGN.md §2 states them. <c>strict</c>: consent is a
/// shareWithResearchAsOfDate greater than zero (numbers, or strings of digits, normalised at parse time); one
/// record per trimmed, lower-cased email, the greatest lastUpdateDate winning and, on a tie, the greatest canonical
/// form; readings count from the consent time on. <c>rubric</c>: consent is any non-null shareWithResearchAsOfDate;
/// every record counts; emails are compared as written (the course's Glue jobs).
/// </summary>
public sealed class ConsentPolicy
{
    private static readonly string[] CanonicalFields =
        Tables.CustomerColumns.Where(c => c.Name != Tables.ExtraFields).Select(c => c.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    private readonly int[] _canonicalIdx;
    private readonly int _email, _serial, _lastUpdate, _research, _consentRaw, _line, _extra;

    /// <summary>The profile these rules implement.</summary>
    public ConsentProfile Profile { get; }

    /// <summary>Creates the rules of a profile.</summary>
    public ConsentPolicy(ConsentProfile profile)
    {
        Profile = profile;
        var t = Tables.StagedCustomer;
        _canonicalIdx = CanonicalFields.Select(t.IndexOf).ToArray();
        _email = t.IndexOf("email");
        _serial = t.IndexOf("serialNumber");
        _lastUpdate = t.IndexOf("lastUpdateDate");
        _research = t.IndexOf("shareWithResearchAsOfDate");
        _consentRaw = t.IndexOf(Tables.ConsentRaw);
        _line = t.IndexOf(Tables.LineNumber);
        _extra = t.IndexOf(Tables.ExtraFields);
    }

    /// <summary>Whether profile is strict.</summary>
    public bool IsStrict => Profile == ConsentProfile.Strict;

    /// <summary>The join key of an email: trimmed and lower-cased with the invariant culture (strict) or as written (rubric).</summary>
    public string CustomerKey(string email) => IsStrict ? email.Trim().ToLowerInvariant() : email;

    /// <summary>The customer key of a staged customer row.</summary>
    public string CustomerKeyOf(object?[] stagedCustomer) => CustomerKey((string)stagedCustomer[_email]!);

    /// <summary>The serial number of a staged customer row.</summary>
    public string? SerialOf(object?[] stagedCustomer) => (string?)stagedCustomer[_serial];

    /// <summary>Whether a staged customer row grants research consent under this profile.</summary>
    public bool Consents(object?[] stagedCustomer) => IsStrict
        ? stagedCustomer[_research] is long t && t > 0
        : stagedCustomer[_consentRaw] is not null;

    /// <summary>The ten STEDI customer fields (absent = null) as compact JSON with ordinally sorted keys.</summary>
    public string Canonical(object?[] stagedCustomer)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            for (var i = 0; i < CanonicalFields.Length; i++)
            {
                w.WritePropertyName(CanonicalFields[i]);
                switch (stagedCustomer[_canonicalIdx[i]])
                {
                    case null: w.WriteNullValue(); break;
                    case string s: w.WriteStringValue(s); break;
                    case long l: w.WriteNumberValue(l); break;
                    default: throw new InvalidOperationException("unexpected customer value type");
                }
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>
    /// The consent index version of a staged customer row of landing object <paramref name="objectId"/>. Its id hashes the
    /// object id, the line and the whole record, so every landing record is its own version and a replaced object's
    /// records can be told apart from the new ones.
    /// </summary>
    public CustomerVersion ToVersion(object?[] stagedCustomer, string objectId)
    {
        var canonical = Canonical(stagedCustomer);
        var consents = Consents(stagedCustomer);
        var id = Partitioning.Sha256Hex($"{objectId}\u0001{stagedCustomer[_line]}\u0001{canonical}\u0001{stagedCustomer[_consentRaw]}\u0001{stagedCustomer[_extra]}");
        return new CustomerVersion(
            CustomerKeyOf(stagedCustomer), id, SerialOf(stagedCustomer),
            (long?)stagedCustomer[_lastUpdate], consents, consents ? stagedCustomer[_research] as long? : null, canonical);
    }

    /// <summary>The lastUpdateDate of a staged customer row.</summary>
    public long? LastUpdateOf(object?[] stagedCustomer) => (long?)stagedCustomer[_lastUpdate];

    /// <summary>The extra_fields of a staged customer row.</summary>
    public string? ExtraOf(object?[] stagedCustomer) => (string?)stagedCustomer[_extra];

    /// <summary>Orders versions for "latest record wins": lastUpdateDate (null lowest), then canonical form, ordinal.</summary>
    public static int CompareRecency(long? lastUpdateA, string canonicalA, long? lastUpdateB, string canonicalB)
    {
        var c = Nullable.Compare(lastUpdateA, lastUpdateB);
        return c != 0 ? c : string.CompareOrdinal(canonicalA, canonicalB);
    }

    /// <summary>The winning version among versions of one customer key (strict), never depending on arrival order.</summary>
    public static CustomerVersion Winner(IEnumerable<CustomerVersion> versions) =>
        versions.Aggregate((a, b) => CompareRecency(a.LastUpdateDate, a.Canonical, b.LastUpdateDate, b.Canonical) >= 0 ? a : b);

    /// <summary>
    /// The consent view of each customer key: for strict, the winner's consent time (null = no consent, only
    /// consenting winners appear); for rubric, how many consenting versions the key has (the fan-out of a join on email).
    /// </summary>
    public Dictionary<string, CustomerConsent> ConsentByKey(IEnumerable<CustomerVersion> versions)
    {
        var result = new Dictionary<string, CustomerConsent>(StringComparer.Ordinal);
        foreach (var g in versions.GroupBy(v => v.CustomerKey))
        {
            if (IsStrict)
            {
                var w = Winner(g);
                result[g.Key] = new CustomerConsent(w.Consented ? w.ConsentTime : null, w.Consented ? 1 : 0, w.SerialNumber is null ? [] : [w.SerialNumber]);
            }
            else
            {
                var consenting = g.Where(v => v.Consented).ToList();
                result[g.Key] = new CustomerConsent(null, consenting.Count, consenting.Where(v => v.SerialNumber is not null).Select(v => v.SerialNumber!).ToList());
            }
        }
        return result;
    }
}

/// <summary>What the consent index says of one customer key under a profile.</summary>
/// <param name="ConsentTime">Strict: epoch ms from which readings may be used; null when the customer has not consented.</param>
/// <param name="Multiplicity">How many output rows one of the customer's readings yields: strict 1 or 0; rubric the number of consenting records.</param>
/// <param name="Serials">Strict: the winner's serial; rubric: the serial of each consenting record (repeats kept).</param>
public sealed record CustomerConsent(long? ConsentTime, int Multiplicity, IReadOnlyList<string> Serials)
{
    /// <summary>Whether any reading of this customer can be trusted.</summary>
    public bool Consented => Multiplicity > 0;
}
