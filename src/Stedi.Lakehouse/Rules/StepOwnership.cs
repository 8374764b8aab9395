using Stedi.Lakehouse.Refine;

namespace Stedi.Lakehouse.Rules;

/// <summary>What the index says about the owners of the serials in one Step Trainer partition.</summary>
/// <param name="CandidatesBySerial">Customer keys of which any version carries the serial.</param>
/// <param name="Views">The view of every candidate customer.</param>
/// <param name="Curated">Candidate customers with at least one trusted accelerometer reading (customer_curated).</param>
public sealed record StepOwnershipFacts(
    IReadOnlyDictionary<string, List<string>> CandidatesBySerial,
    IReadOnlyDictionary<string, CustomerView> Views,
    IReadOnlySet<string> Curated);

/// <summary>The verdict on one Step Trainer reading.</summary>
/// <param name="Copies">Output rows for the reading (0 = filtered by <paramref name="Rule"/>).</param>
/// <param name="Rule">The filter rule when <paramref name="Copies"/> is 0.</param>
/// <param name="Attributed">Kept only by a same-millisecond accelerometer reading of a consenting co-owner (reported as <c>ambiguous_serial_attributed</c>).</param>
public readonly record struct StepVerdict(int Copies, string? Rule, bool Attributed);

/// <summary>step_trainer_trusted's ownership rule for one partition: who owns each serial, and whether a reading may be used.</summary>
public abstract class StepOwnership
{
    /// <summary>
    /// Whether the rule needs the partition's trusted accelerometer moments (customer key, epoch ms) — strict, only when
    /// some serial in the partition has more than one owner.
    /// </summary>
    public abstract bool NeedsMoments { get; }

    /// <summary>Judges one reading. <paramref name="moments"/> is the trusted accelerometer moments when <see cref="NeedsMoments"/>, else null.</summary>
    public abstract StepVerdict Judge(string serial, long epochMillis, IReadOnlySet<(string CustomerKey, long EpochMillis)>? moments);
}

/// <summary>strict: owners are the customers whose winning record carries the serial (docs/ARCHITECTURE.md §2, shared serials).</summary>
internal sealed class StrictStepOwnership : StepOwnership
{
    private readonly StepOwnershipFacts _facts;
    private readonly StrictRules _rules;
    private readonly Dictionary<string, string[]> _owners = new(StringComparer.Ordinal);

    public StrictStepOwnership(StepOwnershipFacts facts, StrictRules rules)
    {
        _facts = facts;
        _rules = rules;
        foreach (var (serial, candidates) in facts.CandidatesBySerial)
            _owners[serial] = candidates.Where(k => facts.Views.TryGetValue(k, out var v) && v.WinnerSerial == serial).Distinct().Order(StringComparer.Ordinal).ToArray();
        NeedsMoments = _owners.Values.Any(o => o.Length > 1);
    }

    public override bool NeedsMoments { get; }

    public override StepVerdict Judge(string serial, long t, IReadOnlySet<(string, long)>? moments)
    {
        if (!_owners.TryGetValue(serial, out var owners) || owners.Length == 0) return new(0, FilterRules.SerialNotCurated, false);
        var views = _facts.Views;
        var anyEligible = false;
        var anyAfterConsent = false;
        foreach (var k in owners)
        {
            if (!views[k].Consented || !_facts.Curated.Contains(k)) continue;
            anyEligible = true;
            if (!_rules.BeforeConsent(t, views[k])) anyAfterConsent = true;
        }
        if (!anyEligible) return new(0, FilterRules.SerialNotCurated, false);
        if (!anyAfterConsent) return new(0, FilterRules.BeforeConsent, false);
        if (owners.Length == 1) return new(1, null, false);
        // A serial shared with a customer who had not consented at that moment: the reading is attributed only to an
        // eligible owner whose phone recorded a trusted reading in the same millisecond.
        var someoneWithout = owners.Any(k => !views[k].Consented || _rules.BeforeConsent(t, views[k]));
        if (!someoneWithout) return new(1, null, false);
        foreach (var k in owners)
            if (views[k].Consented && _facts.Curated.Contains(k) && !_rules.BeforeConsent(t, views[k]) && moments!.Contains((k, t)))
                return new(1, null, true);
        return new(0, FilterRules.AmbiguousSerial, false);
    }
}

/// <summary>rubric: a reading is kept once per consenting record of a curated customer that carries its serial (the course's join).</summary>
internal sealed class RubricStepOwnership : StepOwnership
{
    private readonly Dictionary<string, int> _copies = new(StringComparer.Ordinal);

    public RubricStepOwnership(StepOwnershipFacts facts)
    {
        foreach (var (serial, candidates) in facts.CandidatesBySerial)
        {
            var n = 0;
            foreach (var k in candidates.Distinct())
                if (facts.Curated.Contains(k) && facts.Views.TryGetValue(k, out var v))
                    foreach (var s in v.Serials) if (s == serial) n++;
            _copies[serial] = n;
        }
    }

    public override bool NeedsMoments => false;

    public override StepVerdict Judge(string serial, long t, IReadOnlySet<(string, long)>? moments) =>
        _copies.TryGetValue(serial, out var n) && n > 0 ? new(n, null, false) : new(0, FilterRules.SerialNotCurated, false);
}
