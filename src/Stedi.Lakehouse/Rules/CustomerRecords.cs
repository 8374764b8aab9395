using System.Buffers;
using System.Text;
using System.Text.Json;
using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Rules;

/// <summary>Customer records as the consent index holds them: the canonical form (the strict tie-break) and versions.</summary>
public static class CustomerRecords
{
    /// <summary>The ten STEDI customer fields, ordinally sorted by name (the canonical form's key order).</summary>
    public static readonly IReadOnlyList<Column> CanonicalFields =
        Tables.CustomerColumns.Where(c => c != Fields.Extra).OrderBy(c => c.Name, StringComparer.Ordinal).ToArray();

    /// <summary>The ten STEDI fields of a staged customer row (absent = null) as compact JSON with ordinally sorted keys.</summary>
    public static string Canonical(ColumnBatch staged, int row)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var c in CanonicalFields)
            {
                w.WritePropertyName(c.Name);
                switch (staged[staged.Schema.Ordinal(c)])
                {
                    case StringVector s when s[row] is { } text: w.WriteStringValue(text); break;
                    case LongVector l when !l.IsNull(row): w.WriteNumberValue(l[row]); break;
                    default: w.WriteNullValue(); break;
                }
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// The consent-index version of a staged customer row of landing object <paramref name="objectId"/>. Its id hashes
    /// the object id, the line and the whole record, so every landing record is its own version and a replaced object's
    /// records can be told apart from the new ones; its key is the keyed hash of the rules' join key.
    /// </summary>
    public static CustomerVersion ToVersion(ColumnBatch staged, int row, string objectId, ConsentRules rules, ICustomerKeys keys)
    {
        var canonical = Canonical(staged, row);
        var consents = rules.Consents(staged, row);
        var research = staged.Longs(Fields.ShareWithResearchAsOfDate);
        var id = Partitioning.Sha256Hex(
            $"{objectId}\u0001{staged.Longs(Fields.LineNumber)[row]}\u0001{canonical}\u0001{staged.Strings(Fields.ConsentRaw)[row]}\u0001{staged.Strings(Fields.Extra)[row]}");
        return new CustomerVersion(
            keys.KeyOf(rules.JoinKey(staged.Strings(Fields.Email)[row]!)), id, staged.Strings(Fields.CustomerSerialNumber)[row],
            staged.Longs(Fields.LastUpdateDate).ValueOrNull(row), consents, consents ? research.ValueOrNull(row) : null, canonical);
    }
}
