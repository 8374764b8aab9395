namespace Stedi.Lakehouse.Reading;

/// <summary>Machine-readable reasons for quarantining a landing record or object.</summary>
public static class ReasonCodes
{
    /// <summary>Text that is not a JSON object (garbage, trailing text, unbalanced brackets, invalid UTF-8).</summary>
    public const string InvalidJson = "invalid_json";
    /// <summary>An object cut short: the object ends (or the next object starts) before its closing brace.</summary>
    public const string TruncatedJson = "truncated_json";
    /// <summary>The rest of a compressed object whose compressed data is corrupt or cut short (records before the damage are kept).</summary>
    public const string CorruptCompression = "corrupt_compression";
    /// <summary>An element of a top-level JSON array that is not an object (a number, string, boolean, null or nested array).</summary>
    public const string NotAnObject = "not_an_object";
    /// <summary>Text after the closing bracket of a top-level JSON array (one record per line of it).</summary>
    public const string TextAfterArray = "text_after_array";
    /// <summary>A record or line longer than <see cref="LandingScanner.MaxRecordBytes"/>.</summary>
    public const string RecordTooLarge = "record_too_large";
    /// <summary>A required field is absent or null.</summary>
    public const string MissingRequiredField = "missing_required_field";
    /// <summary>A numeric field holds something that is not a number.</summary>
    public const string NotANumber = "not_a_number";
    /// <summary>An integer field holds a number with a fraction.</summary>
    public const string NotAnInteger = "not_an_integer";
    /// <summary>A number outside the column's range (or outside the representable dates for a timestamp).</summary>
    public const string OutOfRange = "out_of_range";
    /// <summary>A string field holds an object or array.</summary>
    public const string NotAString = "not_a_string";
    /// <summary>Two keys of one record map to one column (a key twice, or keys differing only in case): no value is chosen silently.</summary>
    public const string ConflictingKeys = "conflicting_keys";
    /// <summary>A value longer than the consent index can key on (a serial number over <see cref="RecordParser.MaxSerialBytes"/> UTF-8 bytes).</summary>
    public const string ValueTooLong = "value_too_long";
    /// <summary>The whole object is larger than one invocation may ingest.</summary>
    public const string ObjectTooLarge = "object_too_large";
    /// <summary>The object named by an event no longer exists.</summary>
    public const string ObjectNotFound = "object_not_found";
}
