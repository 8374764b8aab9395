using Stedi.Lakehouse.Columns;
using Stedi.Lakehouse.Refine;
using Stedi.Lakehouse.Schema;

namespace Stedi.Lakehouse.Engine;

/// <summary>
/// One published table's recipe: its inputs, its rule, its output. A recipe computes one partition (or one slice of
/// it) from current state through a <see cref="RefineContext"/>; the refiner writes, commits and enqueues what the
/// refresh graph says follows. Adding a table means a recipe and its edges in <see cref="RefreshGraph"/>.
/// </summary>
public interface ITableRecipe
{
    /// <summary>The table written.</summary>
    TableSchema Output { get; }

    /// <summary>Whether this table tallies, per landing object, what its staged rows became (it is a source's first table).</summary>
    bool TalliesObjects { get; }

    /// <summary>
    /// The slice plan: the column of the partition's staged input that slices it (by a hash of its join form), or null
    /// when the table is never sliced; and the staged table holding it.
    /// </summary>
    (TableSchema Staged, Column Key)? SliceBy { get; }

    /// <summary>
    /// Computes the rows of the context's partition (or slice), tallies them in <see cref="RefineContext.Detail"/>, and
    /// returns them with the order to write them in (see <see cref="OutputBuilder.Finish"/>).
    /// </summary>
    Task<(ColumnBatch Rows, int[] Order)> ComputeAsync(RefineContext context);

    /// <summary>Whether <see cref="CommitSideStateAsync"/> keeps state and compares with the previous detail (which the refiner then reads).</summary>
    bool KeepsSideState => false;

    /// <summary>
    /// After the output is written and before follow-ups are enqueued: state the recipe keeps in the index (written
    /// before anyone is told to read it, docs/ARCHITECTURE.md §7, trap b), and the customers whose trusted readings appeared or
    /// vanished against the last committed detail. Most recipes keep none.
    /// </summary>
    Task<IReadOnlyCollection<ChangedCustomer>> CommitSideStateAsync(RefineContext context, RefineDetail? previous) => Task.FromResult<IReadOnlyCollection<ChangedCustomer>>([]);
}

/// <summary>
/// Builds a recipe's output rows and its deterministic order: rows are added with the landing object they came from
/// (when the table tallies objects), then sorted by every column (ordinal strings, nulls first), so equal content
/// gives equal bytes; exact duplicates can be collapsed, the first of each run (in input order) kept and the others
/// tallied as <c>duplicate_reading</c>.
/// </summary>
public sealed class OutputBuilder
{
    private readonly List<string?> _objectOf = [];
    private readonly List<bool> _tallied = [];
    private readonly List<string?> _flag = [];
    private readonly Dictionary<TableSchema, int[]> _maps = [];

    /// <summary>Creates an empty output of a table over a recompute's pool.</summary>
    public OutputBuilder(TableSchema table, StringPool pool) => Rows = new ColumnBatch(table, 0, pool);

    /// <summary>The rows added so far.</summary>
    public ColumnBatch Rows { get; }

    /// <summary>
    /// Adds <paramref name="copies"/> copies of a row of another batch, its columns matched by name (others null);
    /// returns the index of the first copy. The first copy carries the acceptance tally of <paramref name="objectId"/>.
    /// </summary>
    /// <param name="source">The batch holding the row.</param>
    /// <param name="row">The row.</param>
    /// <param name="objectId">The landing object the row came from, or null when the table does not tally objects.</param>
    /// <param name="copies">Output rows for it (a join's fan-out).</param>
    /// <param name="flag">A flag to count when the row is kept, e.g. <c>ambiguous_serial_attributed</c>.</param>
    public int Add(ColumnBatch source, int row, string? objectId, int copies = 1, string? flag = null)
    {
        // Column positions of the source in this table's order, worked out once per source table.
        if (!_maps.TryGetValue(source.Schema, out var map))
        {
            map = new int[Rows.Schema.Columns.Count];
            for (var i = 0; i < map.Length; i++) map[i] = source.Schema.TryOrdinal(Rows.Schema.Columns[i], out var o) ? o : -1;
            _maps[source.Schema] = map;
        }
        var first = Rows.Count;
        for (var i = 0; i < copies; i++)
        {
            Rows.AppendMapped(source, row, map);
            _objectOf.Add(objectId);
            _tallied.Add(i == 0);
            _flag.Add(i == 0 ? flag : null);
        }
        return first;
    }

    /// <summary>Adds an all-null row to be filled column by column; returns its index.</summary>
    public int AddRow(string? objectId = null)
    {
        _objectOf.Add(objectId);
        _tallied.Add(true);
        _flag.Add(null);
        return Rows.AddRow();
    }

    /// <summary>
    /// The rows to write, in order. With <paramref name="collapseDuplicates"/>, an exact duplicate of an earlier row is
    /// dropped and tallied as filtered (<c>duplicate_reading</c>); every kept row is tallied as accepted.
    /// </summary>
    /// <param name="detail">The recompute's tallies.</param>
    /// <param name="collapseDuplicates">Whether exact duplicates collapse into one row.</param>
    /// <param name="duplicateRule">The rule a collapsed duplicate is tallied under, or null not to tally it (SELECT DISTINCT).</param>
    public (ColumnBatch Rows, int[] Order) Finish(RefineDetail detail, bool collapseDuplicates, string? duplicateRule = FilterRules.DuplicateReading)
    {
        var order = Rows.SortedRows(Rows.FullComparer());
        if (!collapseDuplicates)
        {
            for (var i = 0; i < Rows.Count; i++)
            {
                if (_tallied[i]) detail.Accept(_objectOf[i]);
                if (_flag[i] is { } f) detail.Flag(f);
            }
            return (Rows, order);
        }
        var cmp = Rows.FullComparer();
        var kept = new List<int>(order.Length);
        for (var i = 0; i < order.Length; i++)
        {
            var r = order[i];
            if (kept.Count > 0 && cmp.Equal(kept[^1], r))
            {
                if (duplicateRule is not null) detail.Filter(_objectOf[r], duplicateRule);
                continue;
            }
            kept.Add(r);
            if (_tallied[r]) detail.Accept(_objectOf[r]);
            if (_flag[r] is { } f) detail.Flag(f);
        }
        return (Rows, kept.ToArray());
    }
}
