using System.Data.Common;
using System.Diagnostics;
using DuckDB.NET.Data;

namespace Stedi.Bench;

/// <summary>
/// What one peer run did: rows per table, the timed seconds (read JSON, compute, write Parquet), the CPU seconds this
/// process used in that time (all threads; less sensitive than wall time to a shared machine), and the untimed set-up.
/// </summary>
public sealed record PeerRun(Dictionary<string, long> Rows, double Seconds, double CpuSeconds, double SetupSeconds, int Threads);

/// <summary>
/// The peer: DuckDB computing the five tables from the same landing JSON with plain SQL, written to Parquet (one
/// file per table). The SQL states docs/ARCHITECTURE.md §2 for each profile as set-based rules (see BENCHMARKS.md, "What the
/// DuckDB peer does"): one scan of each landing source, no correlated subqueries, and the intermediate results that
/// more than one table needs kept as temporary tables so nothing is read or computed twice.
/// </summary>
public static class DuckDbPeer
{
    /// <summary>The five published tables, in dependency order.</summary>
    public static readonly string[] TableNames = ["customer_trusted", "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"];

    /// <summary>The ten customer fields in published order (the strict tables publish <c>email</c> normalised).</summary>
    private const string CustomerCols = "customerName, email, phone, birthDay, serialNumber, registrationDate, lastUpdateDate, shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate";

    private static string Lit(string s) => "'" + s.Replace("'", "''") + "'";

    /// <summary>
    /// A landing source read with its columns and types given (no sampling, no type inference), as newline-delimited
    /// JSON (records never span lines, so DuckDB can split files into blocks and parse them in parallel). A record
    /// larger than 1 MB would be an error; real records are under 400 bytes. A source with no files (a scenario
    /// landing without step trainer data) reads as an empty relation of the same columns.
    /// </summary>
    private static string ReadJson(string landing, string source, string columns)
    {
        var folder = Path.Combine(landing, source);
        if (!Directory.Exists(folder) || !Directory.EnumerateFiles(folder, "*.json").Any())
        {
            var typed = string.Join(", ", columns.Split(", ").Select(c => c.Split(": ")).Select(p => $"NULL::{p[1].Trim('\'')} AS {p[0]}"));
            return $"(SELECT {typed} WHERE false)";
        }
        return $"read_json({Lit(landing + "/" + source + "/*.json")}, format = 'newline_delimited', records = true, "
            + $"maximum_object_size = 1048576, compression = 'uncompressed', columns = {{{columns}}})";
    }

    private const string CustomerJsonCols =
        "customerName: 'VARCHAR', email: 'VARCHAR', phone: 'VARCHAR', birthDay: 'VARCHAR', serialNumber: 'VARCHAR', "
        + "registrationDate: 'BIGINT', lastUpdateDate: 'BIGINT', shareWithResearchAsOfDate: 'BIGINT', "
        + "shareWithPublicAsOfDate: 'BIGINT', shareWithFriendsAsOfDate: 'BIGINT'";
    private const string AccelJsonCols = "\"user\": 'VARCHAR', \"timestamp\": 'BIGINT', x: 'DOUBLE', y: 'DOUBLE', z: 'DOUBLE'";
    private const string StepJsonCols = "sensorReadingTime: 'BIGINT', serialNumber: 'VARCHAR', distanceFromObject: 'BIGINT'";

    /// <summary>
    /// The timed statements, in order: temporary tables for what several outputs need, then one <c>COPY … TO</c> per
    /// published table, writing <c>outDir/&lt;table&gt;.parquet</c>.
    /// </summary>
    public static IReadOnlyList<string> Sql(string landing, bool strict, string outDir)
    {
        var l = landing.TrimEnd('/');
        string Out(string t) => $"TO {Lit(Path.Combine(outDir, t + ".parquet"))} (FORMAT parquet)";
        if (!strict)
        {
            return
            [
                // Every record with research consent present (duplicates kept: the rubric's joins fan out).
                $"CREATE TEMP TABLE ct AS SELECT {CustomerCols} FROM {ReadJson(l, "customer", CustomerJsonCols)} WHERE shareWithResearchAsOfDate IS NOT NULL",
                // Every reading joined with every consenting record of its email, as written (one row per match).
                $@"CREATE TEMP TABLE acc AS SELECT a.""user"", a.""timestamp"", a.x, a.y, a.z
                     FROM {ReadJson(l, "accelerometer", AccelJsonCols)} a JOIN ct c ON a.""user"" = c.email",
                // Trusted records whose email has a trusted reading, each distinct record once (a semi-join, not a fan-out).
                "CREATE TEMP TABLE cc AS SELECT DISTINCT * FROM ct WHERE email IN (SELECT \"user\" FROM acc)",
                // Every step reading joined with every curated record carrying its serial.
                $@"CREATE TEMP TABLE stt AS SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject
                     FROM {ReadJson(l, "step_trainer", StepJsonCols)} s JOIN cc c ON c.serialNumber = s.serialNumber",
                $"COPY ct {Out("customer_trusted")}",
                $"COPY acc {Out("accelerometer_trusted")}",
                $"COPY cc {Out("customer_curated")}",
                $"COPY stt {Out("step_trainer_trusted")}",
                // Pairs on the millisecond alone, across customers, as the rubric's SQL does.
                $@"COPY (SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, a.""timestamp"", a.x, a.y, a.z, a.""user""
                         FROM stt s JOIN acc a ON a.""timestamp"" = s.sensorReadingTime) {Out("machine_learning_curated")}",
            ];
        }
        return
        [
            // The customer records with their normalised email (the key), read once.
            $"CREATE TEMP TABLE cust AS SELECT *, lower(trim(email)) AS ckey FROM {ReadJson(l, "customer", CustomerJsonCols)}",
            // Every email as written in the customer file, with its key: most readings spell their user exactly like
            // this, and a hash lookup is cheaper than normalising every reading's email.
            "CREATE TEMP TABLE spellings AS SELECT DISTINCT email AS raw, ckey FROM cust WHERE email IS NOT NULL",
            // One record per key: the greatest lastUpdateDate (nulls lowest). Only keys whose greatest lastUpdateDate
            // is shared by several records need the canonical form (the ten fields as compact JSON with sorted keys,
            // greatest wins); every other key has exactly one candidate and keeps it.
            $@"CREATE TEMP TABLE winners AS
               WITH latest AS (
                   SELECT * FROM cust QUALIFY lastUpdateDate IS NOT DISTINCT FROM max(lastUpdateDate) OVER (PARTITION BY ckey)),
               counted AS (SELECT *, count(*) OVER (PARTITION BY ckey) AS n FROM latest)
               SELECT * EXCLUDE (n) FROM counted WHERE n = 1
               UNION ALL
               SELECT * EXCLUDE (n) FROM counted WHERE n > 1
               QUALIFY row_number() OVER (PARTITION BY ckey ORDER BY json_object(
                   'birthDay', birthDay, 'customerName', customerName, 'email', email, 'lastUpdateDate', lastUpdateDate,
                   'phone', phone, 'registrationDate', registrationDate, 'serialNumber', serialNumber,
                   'shareWithFriendsAsOfDate', shareWithFriendsAsOfDate, 'shareWithPublicAsOfDate', shareWithPublicAsOfDate,
                   'shareWithResearchAsOfDate', shareWithResearchAsOfDate)::VARCHAR DESC) = 1",
            // customer_trusted: winners with research consent; email published normalised; cid numbers them so the
            // readings can be deduplicated and joined on an integer rather than on the email text.
            $"CREATE TEMP TABLE ct AS SELECT * REPLACE (ckey AS email), row_number() OVER () AS cid FROM winners WHERE shareWithResearchAsOfDate > 0",
            // accelerometer_trusted (by cid): one scan of the readings; each reading's key is looked up by its email as
            // written and computed only for spellings the customer file does not have (the same key either way); a hash
            // join against the (small) consenting customers, readings at or after consent, exact duplicates collapsed.
            $@"CREATE TEMP TABLE acc AS SELECT DISTINCT c.cid, a.""timestamp"", a.x, a.y, a.z
                 FROM {ReadJson(l, "accelerometer", AccelJsonCols)} a
                      LEFT JOIN spellings s ON s.raw = a.""user""
                      JOIN ct c ON c.ckey = coalesce(s.ckey, lower(trim(a.""user"")))
                 WHERE a.""timestamp"" >= c.shareWithResearchAsOfDate",
            // customer_curated: trusted customers with a trusted reading (a semi-join).
            "CREATE TEMP TABLE cc AS SELECT * FROM ct WHERE cid IN (SELECT cid FROM acc)",
            // Per serial with a curated owner: the earliest curated consent (no reading before it can be kept) and the
            // moment from which every owner had consented (null when some owner never did).
            $@"CREATE TEMP TABLE serials AS
               SELECT w.serialNumber,
                      min(w.shareWithResearchAsOfDate) FILTER (WHERE w.ckey IN (SELECT ckey FROM cc)) AS curated_from,
                      CASE WHEN bool_and(coalesce(w.shareWithResearchAsOfDate, 0) > 0) THEN max(w.shareWithResearchAsOfDate) END AS all_from
               FROM winners w WHERE w.serialNumber IN (SELECT serialNumber FROM cc) GROUP BY w.serialNumber",
            // Step readings that can be kept at all (serial with a curated owner, at or after the earliest curated
            // consent), exact duplicates collapsed; one scan of the step landing.
            $@"CREATE TEMP TABLE steps AS
               SELECT DISTINCT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, i.all_from
               FROM {ReadJson(l, "step_trainer", StepJsonCols)} s JOIN serials i ON i.serialNumber = s.serialNumber
               WHERE s.sensorReadingTime >= i.curated_from",
            $"COPY (SELECT {CustomerCols} FROM ct) {Out("customer_trusted")}",
            $@"COPY (SELECT c.ckey AS ""user"", a.""timestamp"", a.x, a.y, a.z FROM acc a JOIN ct c ON c.cid = a.cid) {Out("accelerometer_trusted")}",
            $"COPY (SELECT {CustomerCols} FROM cc) {Out("customer_curated")}",
            // step_trainer_trusted: a reading every owner of its serial had consented to by then; otherwise (a shared
            // serial with an owner not consenting at that moment) only when a curated owner's phone has a trusted
            // reading in the same millisecond — the same (serial, millisecond) match as machine_learning_curated.
            $@"COPY (SELECT sensorReadingTime, serialNumber, distanceFromObject FROM steps WHERE sensorReadingTime >= all_from
                     UNION ALL
                     SELECT DISTINCT s.sensorReadingTime, s.serialNumber, s.distanceFromObject
                     FROM steps s JOIN acc a ON a.""timestamp"" = s.sensorReadingTime
                          JOIN cc c ON c.cid = a.cid AND c.serialNumber = s.serialNumber
                     WHERE NOT coalesce(s.sensorReadingTime >= s.all_from, false)) {Out("step_trainer_trusted")}",
            // machine_learning_curated: a step reading and a trusted accelerometer reading of the same millisecond whose
            // customer owns the serial. Every step reading with such a match is in step_trainer_trusted, so joining the
            // candidate steps is joining step_trainer_trusted.
            $@"COPY (SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, a.""timestamp"", a.x, a.y, a.z
                     FROM steps s JOIN acc a ON a.""timestamp"" = s.sensorReadingTime
                          JOIN cc c ON c.cid = a.cid AND c.serialNumber = s.serialNumber) {Out("machine_learning_curated")}",
        ];
    }

    /// <summary>Opens an in-memory DuckDB with every core and the JSON and Parquet readers loaded.</summary>
    public static DuckDBConnection Open(int threads)
    {
        var conn = new DuckDBConnection("DataSource=:memory:");
        conn.Open();
        Exec(conn, $"SET threads = {threads}");
        // Row order of the outputs is irrelevant (the fingerprints are order-independent): let every operator and
        // the Parquet writer run in parallel without restoring input order.
        Exec(conn, "SET preserve_insertion_order = false");
        foreach (var ext in new[] { "json", "parquet" })
        {
            try { Exec(conn, $"LOAD {ext}"); }
            catch (DbException) { /* built in, or loaded on first use */ }
        }
        // Use the JSON functions once so any lazy initialisation happens before the timer.
        Exec(conn, "SELECT * FROM (SELECT json_object('a', 1)::VARCHAR)");
        return conn;
    }

    /// <summary>Runs the peer: computes the tables and writes <c>out/&lt;table&gt;.parquet</c>; returns rows and timings.</summary>
    public static PeerRun Run(string landing, bool strict, string outDir, int? threads = null)
    {
        var n = threads ?? Environment.ProcessorCount;
        var setup = Stopwatch.StartNew();
        Directory.CreateDirectory(outDir);
        foreach (var t in TableNames) File.Delete(Path.Combine(outDir, t + ".parquet"));
        using var conn = Open(n);
        var sql = Sql(landing, strict, outDir);
        setup.Stop();

        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        foreach (var s in sql) Exec(conn, s);
        sw.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;

        var counts = new Dictionary<string, long>();
        foreach (var t in TableNames)
            counts[t] = Scalar(conn, $"SELECT num_rows FROM parquet_file_metadata({Lit(Path.Combine(outDir, t + ".parquet"))})");
        return new PeerRun(counts, Math.Round(sw.Elapsed.TotalSeconds, 3), Math.Round(cpu, 3), Math.Round(setup.Elapsed.TotalSeconds, 3), n);
    }

    /// <summary>Runs one statement.</summary>
    public static void Exec(DuckDBConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Runs a query returning one integer.</summary>
    public static long Scalar(DuckDBConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar());
    }

    /// <summary>One table's fingerprint; <c>EmailsNotNormalised</c> is set for the strict tables that publish an email.</summary>
    public sealed record TableFingerprint(long Rows, string TimeSum, string RowHashSum, long? EmailsNotNormalised);

    /// <summary>
    /// Per table: row count, sum of the reading times, and an order-independent checksum of every column (the sum of
    /// DuckDB's hash of each row with columns cast to one type each), over a set of Parquet files. In strict, the
    /// published email (<c>customer_*.email</c>, <c>accelerometer_trusted.user</c>) must be the normalised one
    /// (trimmed, lower-cased): the number of rows where it is not is part of the fingerprint. Written independently
    /// of <see cref="Sql"/>: it reads whatever Parquet it is given by column name.
    /// </summary>
    public static TableFingerprint Fingerprint(DuckDBConnection conn, string table, string parquetGlob, bool strict)
    {
        var cols = table switch
        {
            "customer_trusted" or "customer_curated" =>
                "customerName::VARCHAR, email::VARCHAR, phone::VARCHAR, birthDay::VARCHAR, serialNumber::VARCHAR, registrationDate::BIGINT, lastUpdateDate::BIGINT, shareWithResearchAsOfDate::BIGINT, shareWithPublicAsOfDate::BIGINT, shareWithFriendsAsOfDate::BIGINT",
            "accelerometer_trusted" => @"""user""::VARCHAR, ""timestamp""::BIGINT, x::DOUBLE, y::DOUBLE, z::DOUBLE",
            "step_trainer_trusted" => "sensorReadingTime::BIGINT, serialNumber::VARCHAR, distanceFromObject::BIGINT",
            _ => @"sensorReadingTime::BIGINT, serialNumber::VARCHAR, distanceFromObject::BIGINT, ""timestamp""::BIGINT, x::DOUBLE, y::DOUBLE, z::DOUBLE"
                 + (strict ? "" : @", ""user""::VARCHAR"),
        };
        var time = table switch
        {
            "customer_trusted" or "customer_curated" => "coalesce(lastUpdateDate, 0)",
            "accelerometer_trusted" => @"""timestamp""",
            _ => "sensorReadingTime",
        };
        var email = !strict ? null : table switch
        {
            "customer_trusted" or "customer_curated" => "email",
            "accelerometer_trusted" => @"""user""",
            _ => null,
        };
        var notNormalised = email is null ? "NULL" : $"count(*) FILTER (WHERE {email} IS DISTINCT FROM lower(trim({email})))";
        using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT count(*), coalesce(sum({time}::HUGEINT), 0)::VARCHAR, coalesce(sum(hash({cols})::HUGEINT), 0)::VARCHAR, {notNormalised} FROM read_parquet({Lit(parquetGlob)}, hive_partitioning = false, union_by_name = true)";
        try
        {
            using var r = cmd.ExecuteReader();
            r.Read();
            return new TableFingerprint(Convert.ToInt64(r.GetValue(0)), r.GetString(1), r.GetString(2), r.IsDBNull(3) ? null : Convert.ToInt64(r.GetValue(3)));
        }
        catch (DbException e) when (e.Message.Contains("No files found", StringComparison.OrdinalIgnoreCase))
        {
            return new TableFingerprint(0, "0", "0", email is null ? null : 0);
        }
    }

    /// <summary>
    /// The number of (table, partition) pairs holding rows in a lake: partition folders
    /// <c>&lt;zone&gt;/&lt;table&gt;/&lt;key&gt;=&lt;value&gt;/</c> below <paramref name="bucketFolder"/> whose
    /// <c>part-00000.parquet</c> has more than zero rows, per published table. Read from the Parquet footers alone, so it
    /// depends on the lake's layout, not on the engine.
    /// </summary>
    public static Dictionary<string, long> PartitionsWithOutput(string bucketFolder)
    {
        using var conn = new DuckDBConnection("DataSource=:memory:");
        conn.Open();
        var result = new Dictionary<string, long>();
        foreach (var t in TableNames)
        {
            var glob = Path.Combine(bucketFolder, "*", t, "*=*", "part-00000.parquet");
            try
            {
                result[t] = Scalar(conn, $"SELECT count(*) FROM parquet_file_metadata({Lit(glob)}) WHERE num_rows > 0");
            }
            catch (DbException e) when (e.Message.Contains("No files found", StringComparison.OrdinalIgnoreCase))
            {
                result[t] = 0;
            }
        }
        return result;
    }
}
