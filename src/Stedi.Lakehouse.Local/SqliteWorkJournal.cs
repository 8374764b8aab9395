using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.Local;

/// <summary>
/// The in-process queue's journal in the lake's SQLite database (table <c>refresh_queue</c>): the local twin of what
/// the SQS refresh queue keeps on AWS, so that pending refresh work survives Ctrl+C or <c>kill -9</c> and the next
/// <c>run --keep</c> or <c>watch</c> finishes it.
/// </summary>
internal sealed class SqliteWorkJournal : IWorkJournal
{
    private static readonly SqlStatement Upsert = new(
        "INSERT INTO refresh_queue (group_id, table_name, partition, state) VALUES ($g, $t, $p, $s) ON CONFLICT (group_id) DO UPDATE SET state = excluded.state",
        "$g", "$t", "$p", "$s");
    private static readonly SqlStatement Delete = new("DELETE FROM refresh_queue WHERE group_id = $g", "$g");
    private static readonly SqlStatement SelectAll = new("SELECT table_name, partition, state FROM refresh_queue ORDER BY rowid");

    private readonly SqliteLakeDatabase _db;

    public SqliteWorkJournal(SqliteLakeDatabase db)
    {
        _db = db;
        _db.Write(() =>
        {
            using var create = _db.Connection.CreateCommand();
            create.CommandText = "CREATE TABLE IF NOT EXISTS refresh_queue (group_id TEXT PRIMARY KEY NOT NULL, table_name TEXT NOT NULL, partition TEXT NOT NULL, state TEXT NOT NULL)";
            create.ExecuteNonQuery();
        });
    }

    public IReadOnlyList<(RefreshWork Work, WorkState State)> Load() =>
        _db.ReadAsync(() =>
        {
            var result = new List<(RefreshWork, WorkState)>();
            using var reader = _db.Command(SelectAll).ExecuteReader();
            while (reader.Read()) result.Add((new RefreshWork(reader.GetString(0), reader.GetString(1)), Enum.Parse<WorkState>(reader.GetString(2))));
            return (IReadOnlyList<(RefreshWork, WorkState)>)result;
        }, CancellationToken.None).GetAwaiter().GetResult();

    public void Save(IReadOnlyCollection<(RefreshWork Work, WorkState State)> items) =>
        _db.Write(() =>
        {
            var upsert = _db.Command(Upsert);
            foreach (var (work, state) in items)
            {
                upsert.Parameters[0].Value = work.GroupId;
                upsert.Parameters[1].Value = work.Table;
                upsert.Parameters[2].Value = work.Partition;
                upsert.Parameters[3].Value = state.ToString();
                upsert.ExecuteNonQuery();
            }
        });

    public void Remove(RefreshWork work) =>
        _db.Write(() =>
        {
            var delete = _db.Command(Delete);
            delete.Parameters[0].Value = work.GroupId;
            delete.ExecuteNonQuery();
        });
}
