using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// The embedded adapter set over one lake folder:
/// <list type="bullet">
/// <item><c>&lt;root&gt;/stedi-lake/&lt;key&gt;</c>: the object store (bucket <see cref="BucketName"/>);</item>
/// <item><c>&lt;root&gt;/lake-index.sqlite</c>: the index by concern (<see cref="LakeIndex"/>) and the refresh queue's journal;</item>
/// <item><c>&lt;root&gt;/lake-secret</c>: the customer-key secret (<see cref="CustomerKeys"/>), mode 600;</item>
/// <item><c>&lt;root&gt;/catalog/&lt;table&gt;.json</c>: the catalog.</item>
/// </list>
/// The work queue is not part of it: it needs the refine worker, which needs this lake.
/// </summary>
public sealed class LocalLake : IDisposable
{
    /// <summary>The bucket name of the local lake.</summary>
    public const string BucketName = "stedi-lake";

    /// <summary>File name of the index database (<see cref="LakeIndex"/>) under the lake root.</summary>
    public const string IndexFileName = "lake-index.sqlite";

    /// <summary>
    /// Names of the entries a lake root holds (folders, database files with their WAL and shared-memory files, the
    /// secret): what a tool may recognise as a lake before clearing it.
    /// </summary>
    public static IReadOnlyCollection<string> EntryNames { get; } =
    [
        BucketName, "catalog", LakeSecret.FileName,
        IndexFileName, IndexFileName + "-wal", IndexFileName + "-shm",
    ];

    private readonly LocalIndex _lakeIndex;

    /// <summary>
    /// Opens (creating when missing) the lake under <paramref name="root"/>. A new lake gets a new random customer-key
    /// secret; an existing lake's is read.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="root"/> is empty.</exception>
    /// <exception cref="InvalidDataException">The lake's index exists but its secret is missing or unreadable, or the index has a newer schema.</exception>
    public LocalLake(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
        var indexPath = Path.Combine(Root, IndexFileName);
        // The secret comes first: an index without it holds customer keys nobody can recompute, so it is never
        // created afresh beside an existing index.
        CustomerKeys = new HmacCustomerKeys(LakeSecret.ReadOrCreate(Path.Combine(Root, LakeSecret.FileName), create: !File.Exists(indexPath)));
        Store = new FolderObjectStore(Root, BucketName);
        _lakeIndex = LocalIndex.Open(indexPath, CustomerKeys);
        Catalog = new JsonCatalog(Path.Combine(Root, "catalog"), Store.BucketFolder);
    }

    /// <summary>Absolute path of the lake folder.</summary>
    public string Root { get; }

    /// <summary>The object store; its files are under <see cref="FolderObjectStore.BucketFolder"/>.</summary>
    public FolderObjectStore Store { get; }

    /// <summary>The index by concern over <c>&lt;root&gt;/lake-index.sqlite</c>, its customer keys made with <see cref="CustomerKeys"/>.</summary>
    public LakeIndex Index => _lakeIndex.Index;

    /// <summary>The refresh queue's journal in the lake's database: pending work survives the process.</summary>
    public IWorkJournal WorkJournal => _journal ??= new SqliteWorkJournal(_lakeIndex.Database);

    private IWorkJournal? _journal;

    /// <summary>The keyed hash of customer join keys, with this lake's own secret (<c>&lt;root&gt;/lake-secret</c>).</summary>
    public ICustomerKeys CustomerKeys { get; }

    /// <summary>The catalog.</summary>
    public JsonCatalog Catalog { get; }

    /// <summary>A query engine with one view per table of <see cref="Catalog"/>.</summary>
    public DuckDbQueryEngine CreateQueryEngine() => new(Catalog);

    /// <summary>Releases the indexes' database connections.</summary>
    public void Dispose() => _lakeIndex.Dispose();
}
