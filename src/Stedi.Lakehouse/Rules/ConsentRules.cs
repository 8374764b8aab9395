using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Rules;

/// <summary>What the consent index says of one customer under a rule set.</summary>
/// <param name="ConsentTime">From when readings may be used (epoch ms); null when any reading of a consenting customer may be (rubric) or when the customer has not consented.</param>
/// <param name="Multiplicity">How many output rows one reading of the customer yields: strict 1 or 0; rubric the number of consenting records (the fan-out of a join on email).</param>
/// <param name="Serials">The serials the customer owns for Step Trainer attribution: strict the winning record's; rubric the serial of each consenting record (repeats kept).</param>
/// <param name="WinnerSerial">The serial of the record that stands for the customer (strict: the winner; rubric: null).</param>
public sealed record CustomerView(long? ConsentTime, int Multiplicity, IReadOnlyList<string> Serials, string? WinnerSerial)
{
    /// <summary>Whether any reading of this customer can be trusted.</summary>
    public bool Consented => Multiplicity > 0;

    /// <summary>No record, or no consenting record.</summary>
    public static readonly CustomerView None = new(null, 0, [], null);
}

/// <summary>
/// The rules of one profile (docs/ARCHITECTURE.md §2), as one object the recipes ask — the recipes hold no profile branches.
/// <see cref="StrictRules"/>: consent is a shareWithResearchAsOfDate greater than zero; one record per trimmed,
/// lower-cased email (the greatest lastUpdateDate, then the greatest canonical form); readings count from the consent
/// time; exact duplicates collapse; a shared serial needs a same-millisecond reading of a consenting owner;
/// machine_learning_curated joins on the millisecond and the customer. <see cref="RubricRules"/>: the course's Glue
/// jobs — any non-null consent, every record counts, emails as written, joins fan out.
/// </summary>
public abstract class ConsentRules
{
    /// <summary>The rules of a profile.</summary>
    public static ConsentRules For(ConsentProfile profile) => profile == ConsentProfile.Rubric ? RubricRules.Instance : StrictRules.Instance;

    /// <summary>The profile these rules implement.</summary>
    public abstract ConsentProfile Profile { get; }

    /// <summary>The join key of an email, which is also the email the tables publish: strict trims and lower-cases (invariant culture), rubric keeps it as written.</summary>
    public abstract string JoinKey(string email);

    /// <summary>Whether a staged customer row grants research consent.</summary>
    public abstract bool Consents(ColumnBatch stagedCustomers, int row);

    /// <summary>The view of one customer from all its versions in the index (empty: <see cref="CustomerView.None"/>).</summary>
    public abstract CustomerView View(IReadOnlyList<CustomerVersion> versionsOfOneCustomer);

    /// <summary>Whether a reading of a consenting customer taken at <paramref name="epochMillis"/> comes before the consent it may use.</summary>
    public abstract bool BeforeConsent(long epochMillis, CustomerView customer);

    /// <summary>Whether exact duplicate readings collapse into one row.</summary>
    public abstract bool CollapsesDuplicates { get; }

    /// <summary>
    /// customer_trusted: which staged records of ONE customer (the same join key) are published, and why each other one
    /// is not. <paramref name="rows"/> are in (object, line) order.
    /// </summary>
    public abstract void SelectCustomerRecords(ColumnBatch staged, ReadOnlySpan<int> rows, Action<int> accept, Action<int, string> filter);

    /// <summary>step_trainer_trusted: the judge of one partition's readings (owners, consent, shared serials).</summary>
    public abstract StepOwnership Ownership(StepOwnershipFacts facts);

    /// <summary>machine_learning_curated's schema under these rules.</summary>
    public TableSchema MachineLearningSchema => Tables.MachineLearningCurated(Profile);

    /// <summary>machine_learning_curated: whether pairing depends on the accelerometer reading's customer (strict), so its view must be read.</summary>
    public abstract bool PairsByCustomer { get; }

    /// <summary>machine_learning_curated: whether an accelerometer reading (of <paramref name="accelerometerCustomer"/>) may pair with a Step Trainer reading of <paramref name="stepSerial"/> at the same millisecond.</summary>
    public abstract bool Pairs(string stepSerial, CustomerView accelerometerCustomer);

    /// <summary>
    /// Orders versions for "latest record wins": lastUpdateDate (null lowest); on a tie the record that does not consent
    /// wins over one that does (privacy first: a withdrawal re-sent without a newer date is honoured); then the canonical
    /// form, ordinal. Positive when A wins.
    /// </summary>
    public static int CompareRecency(long? lastUpdateA, bool consentedA, string canonicalA, long? lastUpdateB, bool consentedB, string canonicalB)
    {
        var c = Nullable.Compare(lastUpdateA, lastUpdateB);
        if (c != 0) return c;
        if (consentedA != consentedB) return consentedA ? -1 : 1;
        return string.CompareOrdinal(canonicalA, canonicalB);
    }

    /// <summary>The winning version among versions of one customer, never depending on arrival order.</summary>
    public static CustomerVersion Winner(IReadOnlyList<CustomerVersion> versions)
    {
        var best = versions[0];
        for (var i = 1; i < versions.Count; i++)
            if (CompareRecency(versions[i].LastUpdateDate, versions[i].Consented, versions[i].Canonical, best.LastUpdateDate, best.Consented, best.Canonical) > 0) best = versions[i];
        return best;
    }
}

/// <summary>The strict rule set (default).</summary>
public sealed class StrictRules : ConsentRules
{
    /// <summary>The shared instance.</summary>
    public static readonly StrictRules Instance = new();

    /// <inheritdoc />
    public override ConsentProfile Profile => ConsentProfile.Strict;

    /// <inheritdoc />
    /// <remarks>
    /// Trimmed and lower-cased; when not ASCII, also trimmed of invisible format characters at either end (a zero-width
    /// space, a byte order mark): a withdrawal written as <c>a@t.com</c> + U+200B would otherwise miss the customer.
    /// Not composed to a Unicode normal form: the functions run without ICU (invariant globalization, as the Lambda
    /// runtime image has none), where <see cref="string.Normalize()"/> leaves non-ASCII text as it is, so an address in
    /// NFD (<c>e</c> + combining accent) and the same address in NFC are two customers (README, known limits).
    /// </remarks>
    public override string JoinKey(string email)
    {
        var s = email.Trim();
        if (System.Text.Ascii.IsValid(s)) return s.ToLowerInvariant();
        int start = 0, end = s.Length;
        while (start < end && IsInvisible(s[start])) start++;
        while (end > start && IsInvisible(s[end - 1])) end--;
        return s[start..end].ToLowerInvariant();
    }

    private static bool IsInvisible(char c) =>
        char.IsWhiteSpace(c) || System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format;

    /// <inheritdoc />
    public override bool Consents(ColumnBatch stagedCustomers, int row)
    {
        var v = stagedCustomers.Longs(Fields.ShareWithResearchAsOfDate);
        return !v.IsNull(row) && v[row] > 0;
    }

    /// <inheritdoc />
    public override CustomerView View(IReadOnlyList<CustomerVersion> versions)
    {
        if (versions.Count == 0) return CustomerView.None;
        var w = Winner(versions);
        return w.Consented
            ? new CustomerView(w.ConsentTime, 1, w.SerialNumber is null ? [] : [w.SerialNumber], w.SerialNumber)
            : new CustomerView(null, 0, [], w.SerialNumber);
    }

    /// <inheritdoc />
    public override bool BeforeConsent(long epochMillis, CustomerView customer) => customer.ConsentTime is { } t && epochMillis < t;

    /// <inheritdoc />
    public override bool CollapsesDuplicates => true;

    /// <inheritdoc />
    public override void SelectCustomerRecords(ColumnBatch staged, ReadOnlySpan<int> rows, Action<int> accept, Action<int, string> filter)
    {
        var lastUpdate = staged.Longs(Fields.LastUpdateDate);
        var extra = staged.Strings(Fields.Extra);
        int best = -1;
        string? bestCanonical = null;
        var bestConsents = false;
        foreach (var r in rows)
        {
            var canonical = CustomerRecords.Canonical(staged, r);
            var consents = Consents(staged, r);
            var c = best < 0 ? 1 : CompareRecency(lastUpdate.ValueOrNull(r), consents, canonical, lastUpdate.ValueOrNull(best), bestConsents, bestCanonical!);
            // Equal in all ten fields: the unknown fields decide, so the output never depends on file names.
            if (c == 0) c = string.CompareOrdinal(extra[r], extra[best]);
            if (c > 0) { best = r; bestCanonical = canonical; bestConsents = consents; }
        }
        foreach (var r in rows)
        {
            if (r != best) filter(r, FilterRules.SupersededRecord);
            else if (!Consents(staged, r)) filter(r, FilterRules.NoResearchConsent);
            else accept(r);
        }
    }

    /// <inheritdoc />
    public override StepOwnership Ownership(StepOwnershipFacts facts) => new StrictStepOwnership(facts, this);

    /// <inheritdoc />
    public override bool PairsByCustomer => true;

    /// <inheritdoc />
    public override bool Pairs(string stepSerial, CustomerView accelerometerCustomer) => accelerometerCustomer.WinnerSerial == stepSerial;
}

/// <summary>The rubric rule set: the published course results.</summary>
public sealed class RubricRules : ConsentRules
{
    /// <summary>The shared instance.</summary>
    public static readonly RubricRules Instance = new();

    /// <inheritdoc />
    public override ConsentProfile Profile => ConsentProfile.Rubric;

    /// <inheritdoc />
    public override string JoinKey(string email) => email;

    /// <inheritdoc />
    public override bool Consents(ColumnBatch stagedCustomers, int row) => !stagedCustomers.Strings(Fields.ConsentRaw).IsNull(row);

    /// <inheritdoc />
    public override CustomerView View(IReadOnlyList<CustomerVersion> versions)
    {
        var serials = new List<string>();
        var n = 0;
        foreach (var v in versions)
        {
            if (!v.Consented) continue;
            n++;
            if (v.SerialNumber is not null) serials.Add(v.SerialNumber);
        }
        return n == 0 ? CustomerView.None : new CustomerView(null, n, serials, null);
    }

    /// <inheritdoc />
    public override bool BeforeConsent(long epochMillis, CustomerView customer) => false;

    /// <inheritdoc />
    public override bool CollapsesDuplicates => false;

    /// <inheritdoc />
    public override void SelectCustomerRecords(ColumnBatch staged, ReadOnlySpan<int> rows, Action<int> accept, Action<int, string> filter)
    {
        foreach (var r in rows)
            if (Consents(staged, r)) accept(r);
            else filter(r, FilterRules.NoResearchConsent);
    }

    /// <inheritdoc />
    public override StepOwnership Ownership(StepOwnershipFacts facts) => new RubricStepOwnership(facts);

    /// <inheritdoc />
    public override bool PairsByCustomer => false;

    /// <inheritdoc />
    public override bool Pairs(string stepSerial, CustomerView accelerometerCustomer) => true;
}
