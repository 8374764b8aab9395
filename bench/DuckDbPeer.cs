using System.Data.Common;
using DuckDB.NET.Data;

namespace Stedi.Bench;

/// <summary>
/// The peer: DuckDB computing the five tables from the same landing JSON with plain SQL, written to Parquet
/// (one file per table). The SQL states DESIGN.md §2 for each profile.
/// </summary>
public static class DuckDbPeer
{
    /// <summary>The five published tables, in dependency order.</summary>
    public static readonly string[] TableNames = ["customer_trusted", "accelerometer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"];

    private const string CustomerCols = "customerName, email, phone, birthDay, serialNumber, registrationDate, lastUpdateDate, shareWithResearchAsOfDate, shareWithPublicAsOfDate, shareWithFriendsAsOfDate";

    private static string Lit(string s) => "'" + s.Replace("'", "''") + "'";

    /// <summary>The statements that compute the five tables (as TEMP tables) from a landing folder.</summary>
    public static IReadOnlyList<string> Sql(string landing, bool strict)
    {
        var l = landing.TrimEnd('/');
        var sql = new List<string>
        {
            $@"CREATE TEMP TABLE cust AS SELECT * FROM read_json({Lit(l + "/customer/*.json")}, format='newline_delimited', columns={{
                customerName:'VARCHAR', email:'VARCHAR', phone:'VARCHAR', birthDay:'VARCHAR', serialNumber:'VARCHAR',
                registrationDate:'BIGINT', lastUpdateDate:'BIGINT', shareWithResearchAsOfDate:'BIGINT',
                shareWithPublicAsOfDate:'BIGINT', shareWithFriendsAsOfDate:'BIGINT'}})",
            $@"CREATE TEMP TABLE accel AS SELECT * FROM read_json({Lit(l + "/accelerometer/*.json")}, format='newline_delimited', columns={{
                ""user"":'VARCHAR', ""timestamp"":'BIGINT', x:'DOUBLE', y:'DOUBLE', z:'DOUBLE'}})",
            $@"CREATE TEMP TABLE step AS SELECT * FROM read_json({Lit(l + "/step_trainer/*.json")}, format='newline_delimited', columns={{
                sensorReadingTime:'BIGINT', serialNumber:'VARCHAR', distanceFromObject:'BIGINT'}})",
        };
        if (strict)
        {
            sql.AddRange(
            [
                // One record per trimmed, lower-cased email: greatest lastUpdateDate, then greatest canonical JSON (sorted keys).
                $@"CREATE TEMP TABLE winners AS SELECT * EXCLUDE (rn) FROM (
                    SELECT *, lower(trim(email)) AS ckey, row_number() OVER (PARTITION BY lower(trim(email)) ORDER BY lastUpdateDate DESC NULLS LAST,
                      json_object('birthDay', birthDay, 'customerName', customerName, 'email', email, 'lastUpdateDate', lastUpdateDate, 'phone', phone,
                        'registrationDate', registrationDate, 'serialNumber', serialNumber, 'shareWithFriendsAsOfDate', shareWithFriendsAsOfDate,
                        'shareWithPublicAsOfDate', shareWithPublicAsOfDate, 'shareWithResearchAsOfDate', shareWithResearchAsOfDate)::VARCHAR DESC) AS rn
                    FROM cust) WHERE rn = 1",
                "CREATE TEMP TABLE customer_trusted AS SELECT * FROM winners WHERE shareWithResearchAsOfDate > 0",
                @"CREATE TEMP TABLE accelerometer_trusted AS SELECT DISTINCT a.""user"", a.""timestamp"", a.x, a.y, a.z
                    FROM accel a JOIN customer_trusted c ON lower(trim(a.""user"")) = c.ckey WHERE a.""timestamp"" >= c.shareWithResearchAsOfDate",
                @"CREATE TEMP TABLE customer_curated AS SELECT * FROM customer_trusted
                    WHERE ckey IN (SELECT lower(trim(""user"")) FROM accelerometer_trusted)",
                // Owners of a serial: every customer whose winning record carries it; eligible owners are curated. When some
                // owner had not consented at the reading's moment (never, or only later), the reading is kept only if an
                // eligible owner's phone has a trusted reading that millisecond.
                @"CREATE TEMP TABLE step_trainer_trusted AS
                  WITH moments AS (SELECT DISTINCT lower(trim(""user"")) AS ckey, ""timestamp"" AS ts FROM accelerometer_trusted)
                  SELECT DISTINCT s.sensorReadingTime, s.serialNumber, s.distanceFromObject
                  FROM step s
                       JOIN customer_curated e ON e.serialNumber = s.serialNumber AND s.sensorReadingTime >= e.shareWithResearchAsOfDate
                  WHERE NOT EXISTS (SELECT 1 FROM winners w WHERE w.serialNumber = s.serialNumber
                                      AND NOT (coalesce(w.shareWithResearchAsOfDate, 0) > 0 AND s.sensorReadingTime >= w.shareWithResearchAsOfDate))
                     OR EXISTS (SELECT 1 FROM moments m WHERE m.ckey = e.ckey AND m.ts = s.sensorReadingTime)",
                @"CREATE TEMP TABLE machine_learning_curated AS
                  SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, a.""timestamp"", a.x, a.y, a.z
                  FROM step_trainer_trusted s JOIN accelerometer_trusted a ON a.""timestamp"" = s.sensorReadingTime
                       JOIN winners w ON w.ckey = lower(trim(a.""user"")) AND w.serialNumber = s.serialNumber",
            ]);
        }
        else
        {
            sql.AddRange(
            [
                $"CREATE TEMP TABLE customer_trusted AS SELECT {CustomerCols} FROM cust WHERE shareWithResearchAsOfDate IS NOT NULL",
                @"CREATE TEMP TABLE accelerometer_trusted AS SELECT a.""user"", a.""timestamp"", a.x, a.y, a.z
                    FROM accel a JOIN customer_trusted c ON a.""user"" = c.email",
                @"CREATE TEMP TABLE customer_curated AS SELECT DISTINCT c.* FROM customer_trusted c JOIN accelerometer_trusted a ON a.""user"" = c.email",
                @"CREATE TEMP TABLE step_trainer_trusted AS SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject
                    FROM step s JOIN customer_curated c ON c.serialNumber = s.serialNumber",
                @"CREATE TEMP TABLE machine_learning_curated AS
                  SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, a.""timestamp"", a.x, a.y, a.z, a.""user""
                  FROM step_trainer_trusted s JOIN accelerometer_trusted a ON a.""timestamp"" = s.sensorReadingTime",
            ]);
        }
        return sql;
    }

    /// <summary>Runs the peer: computes the tables and writes <c>out/&lt;table&gt;.parquet</c>; returns row counts.</summary>
    public static Dictionary<string, long> Run(string landing, bool strict, string outDir)
    {
        Directory.CreateDirectory(outDir);
        using var conn = new DuckDBConnection("DataSource=:memory:");
        conn.Open();
        foreach (var s in Sql(landing, strict)) Exec(conn, s);
        var counts = new Dictionary<string, long>();
        foreach (var t in TableNames)
        {
            var cols = strict && t is "customer_trusted" or "customer_curated" ? CustomerCols : "*";
            if (!strict) cols = "*";
            Exec(conn, $"COPY (SELECT {cols} FROM {t}) TO {Lit(Path.Combine(outDir, t + ".parquet"))} (FORMAT parquet)");
            counts[t] = Scalar(conn, $"SELECT count(*) FROM {t}");
        }
        return counts;
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

    /// <summary>
    /// Per table: row count, sum of the reading times, and an order-independent checksum of every column (the sum of
    /// DuckDB's hash of each row with columns cast to one type each), over a set of Parquet files.
    /// </summary>
    public static (long Rows, string TimeSum, string RowHashSum) Fingerprint(DuckDBConnection conn, string table, string parquetGlob, bool strict)
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
        using var cmd = conn.CreateCommand();
        cmd.CommandText = $"SELECT count(*), coalesce(sum({time}::HUGEINT), 0)::VARCHAR, coalesce(sum(hash({cols})::HUGEINT), 0)::VARCHAR FROM read_parquet({Lit(parquetGlob)}, hive_partitioning = false, union_by_name = true)";
        try
        {
            using var r = cmd.ExecuteReader();
            r.Read();
            return (Convert.ToInt64(r.GetValue(0)), r.GetString(1), r.GetString(2));
        }
        catch (DbException e) when (e.Message.Contains("No files found", StringComparison.OrdinalIgnoreCase))
        {
            return (0, "0", "0");
        }
    }
}
