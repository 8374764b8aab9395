namespace Stedi.Lakehouse.Local;

/// <summary>
/// The embedded adapter set over one lake folder:
/// <list type="bullet">
/// <item><c>&lt;root&gt;/stedi-lake/&lt;key&gt;</c>: the object store (bucket <see cref="BucketName"/>);</item>
/// <item><c>&lt;root&gt;/index.sqlite</c>: the consent and partition index;</item>
/// <item><c>&lt;root&gt;/catalog/&lt;table&gt;.json</c>: the catalog.</item>
/// </list>
/// The work queue is not part of it: it needs the refine worker, which needs this lake.
/// </summary>
public sealed class LocalLake : IDisposable
{
    /// <summary>The bucket name of the local lake.</summary>
    public const string BucketName = "stedi-lake";

    /// <summary>Opens (creating when missing) the lake under <paramref name="root"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="root"/> is empty.</exception>
    public LocalLake(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        Store = new FolderObjectStore(Root, BucketName);
        Index = new SqliteConsentIndex(Path.Combine(Root, "index.sqlite"));
        Catalog = new JsonCatalog(Path.Combine(Root, "catalog"), Store.BucketFolder);
    }

    /// <summary>Absolute path of the lake folder.</summary>
    public string Root { get; }

    /// <summary>The object store; its files are under <see cref="FolderObjectStore.BucketFolder"/>.</summary>
    public FolderObjectStore Store { get; }

    /// <summary>The consent and partition index.</summary>
    public SqliteConsentIndex Index { get; }

    /// <summary>The catalog.</summary>
    public JsonCatalog Catalog { get; }

    /// <summary>A query engine with one view per table of <see cref="Catalog"/>.</summary>
    public DuckDbQueryEngine CreateQueryEngine() => new(Catalog);

    /// <summary>Releases the index's database connections.</summary>
    public void Dispose() => Index.Dispose();
}
