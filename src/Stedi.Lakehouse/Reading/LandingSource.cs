using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Reading;

/// <summary>The three STEDI landing sources.</summary>
public enum SourceKind
{
    /// <summary>Customer records (<c>customer/landing/</c>).</summary>
    Customer,
    /// <summary>Phone accelerometer readings (<c>accelerometer/landing/</c>).</summary>
    Accelerometer,
    /// <summary>Step Trainer distance readings (<c>step_trainer/landing/</c>).</summary>
    StepTrainer,
}

/// <summary>A landing source: its name, landing prefix, staged table and first published table.</summary>
/// <param name="Kind">Which source.</param>
/// <param name="Name">Source name: <c>customer</c>, <c>accelerometer</c> or <c>step_trainer</c>.</param>
/// <param name="Staged">Staged table (every parsed record).</param>
/// <param name="FirstTable">The published table that consumes the staged rows (where each staged row is accepted or filtered).</param>
public sealed record LandingSource(SourceKind Kind, string Name, TableSchema Staged, TableSchema FirstTable)
{
    /// <summary>Landing prefix in the lake bucket, e.g. <c>customer/landing/</c> (the STEDI course layout).</summary>
    public string LandingPrefix => $"{Name}/landing/";

    /// <summary>The customer source.</summary>
    public static readonly LandingSource Customer = new(SourceKind.Customer, "customer", Tables.StagedCustomer, Tables.CustomerTrusted);
    /// <summary>The accelerometer source.</summary>
    public static readonly LandingSource Accelerometer = new(SourceKind.Accelerometer, "accelerometer", Tables.StagedAccelerometer, Tables.AccelerometerTrusted);
    /// <summary>The Step Trainer source.</summary>
    public static readonly LandingSource StepTrainer = new(SourceKind.StepTrainer, "step_trainer", Tables.StagedStepTrainer, Tables.StepTrainerTrusted);

    /// <summary>All sources, customer first.</summary>
    public static readonly IReadOnlyList<LandingSource> All = [Customer, Accelerometer, StepTrainer];

    /// <summary>
    /// The source whose landing prefix holds <paramref name="key"/>, or null for any other key (output prefixes,
    /// folder markers ending in '/', keys directly at the prefix). Used to ignore keys before any read.
    /// </summary>
    public static LandingSource? ForKey(string key)
    {
        if (key.EndsWith('/')) return null;
        foreach (var s in All)
            if (key.StartsWith(s.LandingPrefix, StringComparison.Ordinal) && key.Length > s.LandingPrefix.Length) return s;
        return null;
    }

    /// <summary>
    /// Whether a key is a folder marker rather than an object: a key ending in '/' (what the S3 console's "Create folder"
    /// writes) or in <c>$folder$</c> (what Hadoop, EMR and older Glue jobs write beside a folder).
    /// </summary>
    public static bool IsFolderMarker(string key) => key.EndsWith('/') || key.EndsWith("$folder$", StringComparison.Ordinal);

    /// <summary>Looks a source up by name.</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    public static LandingSource ByName(string name) =>
        All.FirstOrDefault(s => s.Name == name) ?? throw new ArgumentException($"unknown source '{name}' (expected customer, accelerometer or step_trainer)", nameof(name));
}
