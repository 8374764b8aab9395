using System.Text;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Rules;

namespace Stedi.Lakehouse.UnitTests;

/// <summary>The typed record parser: straight into typed columns, normalisations counted, bad input rejected with a reason naming the field.</summary>
public sealed class RecordParserTests
{
    private const long T = 1_750_000_000_000;
    private static readonly TimeWindow Window = new(TimeWindow.DefaultMinEpochMillis, T + 86_400_000);

    private static (bool Ok, ColumnBatch Batch, Rejection Why, RecordParser Parser) Parse(LandingSource source, string json, long line = 1)
    {
        var parser = new RecordParser(source, Window);
        var batch = new ColumnBatch(source.Staged);
        var ok = parser.TryParse(Encoding.UTF8.GetBytes(json), line, batch, out var why);
        return (ok, batch, why, parser);
    }

    [Fact]
    public void An_accelerometer_record_becomes_one_typed_row_with_its_line()
    {
        var (ok, b, _, p) = Parse(LandingSource.Accelerometer, $$"""{"user":"Ann@x.com","timestamp":{{T}},"x":0.5,"y":-1,"z":0}""", 7);
        Assert.True(ok);
        Assert.Equal(1, b.Count);
        Assert.Equal("Ann@x.com", b.Strings(Fields.User)[0]);
        Assert.Equal(T, b.Longs(Fields.Timestamp)[0]);
        Assert.Equal([0.5, -1.0, 0.0], new[] { b.Doubles(Fields.X)[0], b.Doubles(Fields.Y)[0], b.Doubles(Fields.Z)[0] });
        Assert.Equal(7, b.Longs(Fields.LineNumber)[0]);
        Assert.True(b.Strings(Fields.Extra).IsNull(0));
        Assert.Empty(p.Normalizations);
    }

    [Fact]
    public void Repeated_strings_are_stored_once_in_the_pool()
    {
        var parser = new RecordParser(LandingSource.Accelerometer, Window);
        var batch = new ColumnBatch(LandingSource.Accelerometer.Staged);
        for (var i = 0; i < 100; i++)
            Assert.True(parser.TryParse(Encoding.UTF8.GetBytes($$"""{"user":"ann@x.com","timestamp":{{T + i}},"x":0,"y":0,"z":0}"""), i + 1, batch, out _));
        Assert.Equal(100, batch.Count);
        Assert.Equal(1, batch.Pool.Count);
    }

    [Fact]
    public void Field_names_match_case_insensitively_and_the_rename_is_counted()
    {
        var (ok, b, _, p) = Parse(LandingSource.Accelerometer, $$"""{"user":"a@x.com","timeStamp":{{T}},"x":1,"y":2,"z":3}""");
        Assert.True(ok);
        Assert.Equal(T, b.Longs(Fields.Timestamp)[0]);
        Assert.Equal(["timeStamp: renamed to timestamp"], p.Normalizations);
    }

    [Theory]
    [InlineData("""{"user":"a@x.com","timestamp":1750000000000,"timeStamp":1750000000001,"x":1,"y":2,"z":3}""", "keys 'timestamp' and 'timeStamp' both map to column timestamp")]
    [InlineData("""{"user":"a@x.com","user":"b@x.com","timestamp":1750000000000,"x":1,"y":2,"z":3}""", "key 'user' appears twice")]
    [InlineData("""{"user":"a@x.com","timestamp":1750000000000,"x":1,"y":2,"z":3,"source":"a","source":"b"}""", "key 'source' appears twice")]
    public void Two_keys_for_one_column_are_a_conflict_not_a_silent_choice(string json, string detail)
    {
        var (ok, b, why, _) = Parse(LandingSource.Accelerometer, json);
        Assert.False(ok);
        Assert.Equal(0, b.Count);
        Assert.Equal(ReasonCodes.ConflictingKeys, why.Reason);
        Assert.Equal(detail, why.Detail);
    }

    [Fact]
    public void A_serial_or_customer_record_longer_than_the_consent_index_can_hold_is_quarantined_alone()
    {
        // The index keys on serials (a DynamoDB sort key holds 1,024 bytes) and keeps customer versions whole (an item
        // 400 KB): past either, the object's index write failed on every retry, good records with it.
        var serial = new string('s', RecordParser.MaxSerialBytes);
        Assert.True(Parse(LandingSource.StepTrainer, $$"""{"sensorReadingTime":{{T}},"serialNumber":"{{serial}}","distanceFromObject":1}""").Ok);
        var (ok, _, why, _) = Parse(LandingSource.StepTrainer, $$"""{"sensorReadingTime":{{T}},"serialNumber":"{{serial}}é","distanceFromObject":1}""");
        Assert.False(ok);
        Assert.Equal((ReasonCodes.ValueTooLong, "serialNumber: 1,002 bytes, over the 1,000 a serial may have (it is part of the consent index's keys)"), (why.Reason, why.Detail));

        // The index keeps the ten customer fields as escaped JSON (what counts), not the raw text: '<' takes six bytes there.
        string Customer(string name, string note = "") => $$"""{"customerName":"{{name}}","email":"ann@x.com","phone":"1","birthDay":"1990-01-01","serialNumber":"S-1","registrationDate":{{T}},"lastUpdateDate":{{T}},"shareWithResearchAsOfDate":{{T}},"shareWithPublicAsOfDate":null,"note":"{{note}}"}""";
        var (ok0, b0, _, _) = Parse(LandingSource.Customer, Customer(""));
        Assert.True(ok0);
        var empty = Encoding.UTF8.GetByteCount(CustomerRecords.Canonical(b0, 0));
        Assert.True(Parse(LandingSource.Customer, Customer(new string('x', RecordParser.MaxCustomerRecordBytes - empty))).Ok);
        var big = Parse(LandingSource.Customer, Customer(new string('x', RecordParser.MaxCustomerRecordBytes - empty + 1)));
        Assert.False(big.Ok);
        Assert.Equal((ReasonCodes.RecordTooLarge, "the customer's fields take 350,001 bytes as the consent index keeps them (JSON, escaped), over the 350,000 a customer version may have"), (big.Why.Reason, big.Why.Detail));
        // 60,000 '<' are 60 KB of raw text and 360 KB in the index.
        Assert.Equal(ReasonCodes.RecordTooLarge, Parse(LandingSource.Customer, Customer(new string('<', 60_000))).Why.Reason);
        // Unknown fields are not in the index: a long one is fine.
        Assert.True(Parse(LandingSource.Customer, Customer("Ann", new string('x', 400_000))).Ok);
        // A serial over the limit in a customer record too.
        Assert.Equal(ReasonCodes.ValueTooLong, Parse(LandingSource.Customer, Customer("Ann").Replace("S-1", serial + "x")).Why.Reason);
    }

    [Theory]
    [InlineData("1655564376.361", ReasonCodes.NotAnInteger, "shareWithResearchAsOfDate: 1655564376.361 is not an integer (looks like seconds)")]
    [InlineData("1655564376361.5", ReasonCodes.NotAnInteger, "shareWithResearchAsOfDate: 1655564376361.5 is not an integer")]
    [InlineData("\"1655564376.361\"", ReasonCodes.NotAnInteger, "shareWithResearchAsOfDate: 1655564376.361 is not an integer (looks like seconds)")]
    [InlineData("1e30", ReasonCodes.OutOfRange, "shareWithResearchAsOfDate: 1e30 is out of range")]
    public void A_consent_date_that_is_a_number_but_not_a_time_is_quarantined_not_read_as_no_consent(string value, string reason, string detail)
    {
        // Once read as null: a consenting customer dropped silently, the producer's bug (seconds with a fraction) unseen.
        var json = $$"""{"customerName":"Ann","email":"ann@x.com","serialNumber":"S-1","lastUpdateDate":{{T}},"shareWithResearchAsOfDate":{{value}}}""";
        var (ok, _, why, _) = Parse(LandingSource.Customer, json);
        Assert.False(ok);
        Assert.Equal((reason, detail), (why.Reason, why.Detail));
    }

    [Theory]
    [InlineData("true")]
    [InlineData("\"yes\"")]
    [InlineData("{\"$date\":1655564376361}")]
    public void A_consent_date_that_is_not_a_number_is_no_consent_and_noted(string value)
    {
        var json = $$"""{"customerName":"Ann","email":"ann@x.com","serialNumber":"S-1","lastUpdateDate":{{T}},"shareWithResearchAsOfDate":{{value}}}""";
        var (ok, b, _, p) = Parse(LandingSource.Customer, json);
        Assert.True(ok);
        Assert.True(b[b.Schema.Ordinal(Fields.ShareWithResearchAsOfDate)].IsNull(0));
        Assert.Contains(p.Normalizations, n => n.StartsWith("shareWithResearchAsOfDate: ", StringComparison.Ordinal) && n.EndsWith(", read as null", StringComparison.Ordinal));
    }

    [Fact]
    public void A_reading_time_with_a_fraction_says_which_unit_it_looks_like()
    {
        var (ok, _, why, _) = Parse(LandingSource.Accelerometer, """{"user":"a@x.com","timestamp":1655564444.103,"x":1,"y":2,"z":3}""");
        Assert.False(ok);
        Assert.Equal((ReasonCodes.NotAnInteger, "timestamp: 1655564444.103 is not an integer (looks like seconds)"), (why.Reason, why.Detail));
        Assert.Equal("timestamp: 1655564444103.5 is not an integer", Parse(LandingSource.Accelerometer, """{"user":"a@x.com","timestamp":1655564444103.5,"x":1,"y":2,"z":3}""").Why.Detail);
    }

    [Fact]
    public void Numbers_as_strings_and_float_formatted_integers_are_normalised_and_counted()
    {
        var (ok, b, _, p) = Parse(LandingSource.StepTrainer, $$"""{"sensorReadingTime":"{{T}}","serialNumber":"S-1","distanceFromObject":3000000000.0}""");
        Assert.True(ok);
        Assert.Equal(T, b.Longs(Fields.SensorReadingTime)[0]);
        Assert.Equal(3_000_000_000, b.Longs(Fields.DistanceFromObject)[0]);
        Assert.Equal(["sensorReadingTime: number as string", "distanceFromObject: float-formatted integer"], p.Normalizations);
    }

    [Theory]
    [InlineData("""{"user":"a@x.com","timestamp":1750000000000,"x":"left","y":2,"z":3}""", ReasonCodes.NotANumber, "x: not a number")]
    [InlineData("""{"user":"a@x.com","timestamp":1750000000000,"x":1,"y":2}""", ReasonCodes.MissingRequiredField, "z: missing")]
    [InlineData("""{"user":null,"timestamp":1750000000000,"x":1,"y":2,"z":3}""", ReasonCodes.MissingRequiredField, "user: null")]
    [InlineData("""{"user":"","timestamp":1750000000000,"x":1,"y":2,"z":3}""", ReasonCodes.MissingRequiredField, "user: empty")]
    [InlineData("""{"user":" \t","timestamp":1750000000000,"x":1,"y":2,"z":3}""", ReasonCodes.MissingRequiredField, "user: blank")]
    [InlineData("""{"user":"\u200b","timestamp":1750000000000,"x":1,"y":2,"z":3}""", ReasonCodes.MissingRequiredField, "user: blank")]
    [InlineData("""{"user":["a"],"timestamp":1750000000000,"x":1,"y":2,"z":3}""", ReasonCodes.NotAString, "user: not a string")]
    [InlineData("""{"user":"a@x.com","timestamp":1750000000000.5,"x":1,"y":2,"z":3}""", ReasonCodes.NotAnInteger, "timestamp: 1750000000000.5 is not an integer")]
    [InlineData("""{"user":"a@x.com","timestamp":1750000000000,"x":1,"y":2,"z":3} trailing""", ReasonCodes.InvalidJson, "invalid JSON: 't' is invalid after a single JSON value")]
    public void A_bad_field_rejects_the_record_with_a_reason_naming_it(string json, string reason, string detail)
    {
        var (ok, b, why, _) = Parse(LandingSource.Accelerometer, json);
        Assert.False(ok);
        Assert.Equal(0, b.Count);
        Assert.Equal(reason, why.Reason);
        Assert.StartsWith(detail, why.Detail);
    }

    [Fact]
    public void Bytes_that_are_not_utf8_reject_the_record_instead_of_becoming_replacement_characters()
    {
        byte[] json = [.. "{\"user\":\"bad5"u8, 0xC0, 0xAF, .. "@x.com\",\"timestamp\":1750000000000,\"x\":1,\"y\":2,\"z\":3}"u8];
        var parser = new RecordParser(LandingSource.Accelerometer);
        var batch = new ColumnBatch(LandingSource.Accelerometer.Staged);
        Assert.False(parser.TryParse(json, 1, batch, out var why));
        Assert.Equal(ReasonCodes.InvalidJson, why.Reason);
        Assert.Equal("invalid UTF-8 at byte 13 of the record (0xC0): the text is not UTF-8, or was damaged", why.Detail);
        Assert.Equal(0, batch.Count);
    }

    [Theory]
    [InlineData(1_750_000_000L, "looks like seconds")]
    [InlineData(1_750_000_000_000_000L, "looks like microseconds")]
    [InlineData(0L, "not positive")]
    [InlineData(-1L, "not positive")]
    public void A_reading_time_outside_the_plausible_window_is_out_of_range_with_a_hint_at_the_unit(long t, string hint)
    {
        var (ok, _, why, _) = Parse(LandingSource.Accelerometer, $$"""{"user":"a@x.com","timestamp":{{t}},"x":1,"y":2,"z":3}""");
        Assert.False(ok);
        Assert.Equal(ReasonCodes.OutOfRange, why.Reason);
        Assert.StartsWith($"timestamp: {t} is outside the plausible window 2015-01-01 to ", why.Detail);
        Assert.EndsWith($"({hint})", why.Detail);
    }

    [Theory]
    [InlineData("1655564000", false, "shareWithResearchAsOfDate: 1655564000 is outside the plausible window 2015-01-01 to ")]
    [InlineData("\"1655564000\"", false, "shareWithResearchAsOfDate: 1655564000 is outside the plausible window 2015-01-01 to ")]
    [InlineData("0", true, null)]
    [InlineData("-1", true, null)]
    [InlineData("null", true, null)]
    public void A_positive_consent_date_outside_the_window_is_out_of_range_and_no_consent_stays_a_rule(string consent, bool accepted, string? detail)
    {
        // In seconds, a consent date read as milliseconds is January 1970: every reading would count as after consent.
        var (ok, _, why, _) = Parse(LandingSource.Customer, $$"""{"email":"a@x.com","lastUpdateDate":{{T}},"shareWithResearchAsOfDate":{{consent}}}""");
        Assert.Equal(accepted, ok);
        if (detail is null) return;
        Assert.Equal(ReasonCodes.OutOfRange, why.Reason);
        Assert.StartsWith(detail, why.Detail);
        Assert.EndsWith("(looks like seconds)", why.Detail);
    }

    [Fact]
    public void A_customer_keeps_consent_raw_unknown_fields_and_a_string_birthday()
    {
        var (ok, b, _, p) = Parse(LandingSource.Customer,
            $$$"""{"customerName":"Ann","email":"Ann@X.com","birthDay":"1900-01-01","lastUpdateDate":{{{T}}},"shareWithResearchAsOfDate":"{{{T}}}","favouriteColour":{"r":1}}""");
        Assert.True(ok);
        Assert.Equal("1900-01-01", b.Strings(Fields.BirthDay)[0]);
        Assert.Equal(T, b.Longs(Fields.ShareWithResearchAsOfDate)[0]);
        Assert.Equal($"\"{T}\"", b.Strings(Fields.ConsentRaw)[0]);
        Assert.Equal("""{"favouriteColour":{"r":1}}""", b.Strings(Fields.Extra)[0]);
        Assert.Equal(["favouriteColour"], p.UnknownFields);
        Assert.True(b.Longs(Fields.RegistrationDate).IsNull(0));
    }

    [Fact]
    public void A_consent_date_that_is_not_a_date_reads_as_no_consent_not_as_a_bad_record()
    {
        var (ok, b, _, p) = Parse(LandingSource.Customer, $$"""{"email":"a@x.com","lastUpdateDate":{{T}},"shareWithResearchAsOfDate":true}""");
        Assert.True(ok);
        Assert.True(b.Longs(Fields.ShareWithResearchAsOfDate).IsNull(0));
        Assert.Equal("true", b.Strings(Fields.ConsentRaw)[0]);
        Assert.Equal(["shareWithResearchAsOfDate: not a number, read as null"], p.Normalizations);
    }
}
