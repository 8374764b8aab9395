using System.Text;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Rules;

namespace Stedi.Lakehouse.UnitTests;

/// <summary>The two rule sets, as the recipes ask them.</summary>
public sealed class ConsentRulesTests
{
    private const long T = 1_750_000_000_000;

    private static CustomerVersion V(string key, string id, long? lastUpdate, bool consented, long? consentTime, string canonical, string? serial = null) =>
        new(key, id, serial, lastUpdate, consented, consentTime, canonical);

    [Fact]
    public void Strict_join_key_is_trimmed_lower_cased_and_without_invisible_edges()
    {
        var r = StrictRules.Instance;
        Assert.Equal("alice@example.com", r.JoinKey(" Alice@Example.COM\t"));
        var nfc = "jos\u00e9@test.com";
        var nfd = "jose\u0301@test.com";
        Assert.Equal(nfc, r.JoinKey("JOS\u00c9@TEST.COM"));
        Assert.Equal(nfd, r.JoinKey(nfd)); // not composed: no ICU in the functions (a known limit)
        Assert.Equal("a@t.com", r.JoinKey("a@t.com\u200b"));
        Assert.Equal("a@t.com", r.JoinKey("\ufeffa@t.com\u00a0"));
        // Inside the address an invisible character stays (it is another address; only the edges are noise).
        Assert.Equal("a\u200b@t.com", r.JoinKey("a\u200b@t.com"));
        // The rubric profile reproduces the Glue jobs' exact match.
        Assert.Equal(nfd, RubricRules.Instance.JoinKey(nfd));
    }

    [Fact]
    public void Strict_the_latest_record_wins_then_the_greatest_canonical_form_never_arrival_order()
    {
        var older = V("k", "a", T, true, T, "{\"phone\":\"9\"}", "S-OLD");
        var newer = V("k", "b", T + 1, false, null, "{\"phone\":\"0\"}", "S-NEW");
        var tieLow = V("k", "c", T + 1, true, T, "{\"phone\":\"1\"}");
        Assert.Same(newer, ConsentRules.Winner([older, newer]));
        Assert.Same(newer, ConsentRules.Winner([newer, older]));
        // A tie on lastUpdateDate: the record without consent wins (a withdrawal re-sent without a newer date), whatever
        // the canonical forms; between two of the same consent the greater canonical form wins ("{…1}" > "{…0}").
        Assert.Same(newer, ConsentRules.Winner([newer, tieLow]));
        Assert.Same(newer, ConsentRules.Winner([tieLow, newer]));
        var tieWithdrawn = V("k", "d", T + 1, false, null, "{\"phone\":\"1\"}");
        Assert.Same(tieWithdrawn, ConsentRules.Winner([newer, tieWithdrawn]));
        var view = StrictRules.Instance.View([older, newer]);
        Assert.False(view.Consented);
        Assert.Equal("S-NEW", view.WinnerSerial);
    }

    [Fact]
    public void Strict_readings_count_from_the_consent_time_rubric_from_any_time()
    {
        var v = StrictRules.Instance.View([V("k", "a", T, true, T, "{}")]);
        Assert.True(StrictRules.Instance.BeforeConsent(T - 1, v));
        Assert.False(StrictRules.Instance.BeforeConsent(T, v));
        var r = RubricRules.Instance.View([V("k", "a", T, true, T, "{}"), V("k", "b", T, true, null, "{}"), V("k", "c", T, false, null, "{}")]);
        Assert.Equal(2, r.Multiplicity);
        Assert.False(RubricRules.Instance.BeforeConsent(0, r));
    }

    [Fact]
    public void Join_keys_are_trimmed_and_lower_cased_in_strict_and_as_written_in_rubric()
    {
        Assert.Equal("ann@x.com", StrictRules.Instance.JoinKey("  Ann@X.com "));
        Assert.Equal("  Ann@X.com ", RubricRules.Instance.JoinKey("  Ann@X.com "));
    }

    [Theory]
    [InlineData("1750000000000", true, true)]
    [InlineData("0", false, true)]
    [InlineData("null", false, false)]
    [InlineData("\"yes\"", false, true)]
    public void Consent_is_a_positive_time_in_strict_and_any_non_null_value_in_rubric(string value, bool strict, bool rubric)
    {
        var batch = new ColumnBatch(Tables.StagedCustomer);
        var parser = new RecordParser(LandingSource.Customer, new TimeWindow(0, long.MaxValue));
        Assert.True(parser.TryParse(Encoding.UTF8.GetBytes($$"""{"email":"a@x.com","shareWithResearchAsOfDate":{{value}}}"""), 1, batch, out _));
        Assert.Equal(strict, StrictRules.Instance.Consents(batch, 0));
        Assert.Equal(rubric, RubricRules.Instance.Consents(batch, 0));
    }

    [Fact]
    public void Strict_a_shared_serial_needs_a_same_millisecond_reading_of_a_consenting_curated_owner()
    {
        var views = new Dictionary<string, CustomerView>
        {
            ["ann"] = new(T, 1, ["S"], "S"),
            ["bob"] = new(null, 0, [], "S"), // co-owner who never consented
        };
        var own = StrictRules.Instance.Ownership(new StepOwnershipFacts(
            new Dictionary<string, List<string>> { ["S"] = ["ann", "bob"] }, views, new HashSet<string> { "ann" }));
        Assert.True(own.NeedsMoments);
        var moments = new HashSet<(string, long)> { ("ann", T + 5) };
        Assert.Equal(new StepVerdict(1, null, true), own.Judge("S", T + 5, moments));
        Assert.Equal(new StepVerdict(0, FilterRules.AmbiguousSerial, false), own.Judge("S", T + 6, moments));
        Assert.Equal(new StepVerdict(0, FilterRules.BeforeConsent, false), own.Judge("S", T - 1, moments));
        Assert.Equal(new StepVerdict(0, FilterRules.SerialNotCurated, false), own.Judge("OTHER", T + 5, moments));
    }

    [Fact]
    public void Rubric_keeps_a_reading_once_per_consenting_record_of_a_curated_owner()
    {
        var views = new Dictionary<string, CustomerView> { ["ann"] = new(null, 2, ["S", "S"], null), ["bob"] = new(null, 1, ["S"], null) };
        var own = RubricRules.Instance.Ownership(new StepOwnershipFacts(
            new Dictionary<string, List<string>> { ["S"] = ["ann", "bob"] }, views, new HashSet<string> { "ann" }));
        Assert.False(own.NeedsMoments);
        Assert.Equal(new StepVerdict(2, null, false), own.Judge("S", 0, null));
    }
}
