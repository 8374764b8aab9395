namespace Stedi.Lakehouse.Schema;

/// <summary>The two semantic profiles of docs/ARCHITECTURE.md §2.</summary>
public enum ConsentProfile
{
    /// <summary>Default: privacy-first, one record per normalised email, readings at or after consent.</summary>
    Strict,
    /// <summary>Reproduces the published course results (Spark Glue jobs): any non-null consent, joins fan out.</summary>
    Rubric,
}
