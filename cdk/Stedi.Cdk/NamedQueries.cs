using Stedi.Lakehouse.Schema;

namespace Stedi.Cdk;

/// <summary>One Athena named query.</summary>
/// <param name="Name">Query name as shown in the Athena console (Saved queries).</param>
/// <param name="Description">What the result means and the expected value.</param>
/// <param name="Sql">Athena (Trino) SQL; table names are unqualified (the named query carries the database).</param>
public sealed record NamedQuery(string Name, string Description, string Sql);

/// <summary>
/// The named queries of the workgroup: a row count per published table, and spot checks whose expected result is 0
/// (each one counts rows that would break a guarantee of docs/ARCHITECTURE.md §2–3). Column and table names come from
/// <see cref="Tables"/>; identifiers are double-quoted because <c>user</c> and <c>timestamp</c> are reserved words.
/// </summary>
public static class NamedQueries
{
    /// <summary>The queries for a profile.</summary>
    public static IReadOnlyList<NamedQuery> For(ConsentProfile profile)
    {
        var published = Tables.Published(profile);
        var queries = published
            .Select(t => new NamedQuery($"row_count_{t.Name}", $"Row count of {t.Name}", $"SELECT COUNT(*) AS row_count FROM {Q(t.Name)};"))
            .ToList();

        var ml = Tables.MachineLearningCurated(profile);
        var acc = Tables.AccelerometerTrusted;
        var cust = Tables.CustomerTrusted;
        var curated = Tables.CustomerCurated;
        var step = Tables.StepTrainerTrusted;
        var email = Col(cust, "email");
        var serial = Col(cust, "serialNumber");
        var user = Col(acc, "user");
        var ts = Col(acc, "timestamp");
        var consent = Col(cust, "shareWithResearchAsOfDate");
        var hour = Tables.ReadingHour;

        // Email comparison follows the profile's join key (docs/ARCHITECTURE.md §2): normalised for strict, as written for rubric.
        string Key(string alias, string column) =>
            profile == ConsentProfile.Strict ? $"lower(trim({alias}.{column}))" : $"{alias}.{column}";

        queries.Add(new NamedQuery(
            "check_accelerometer_trusted_without_consenting_customer",
            "Expected 0: accelerometer_trusted readings whose user is not in customer_trusted",
            $"""
            SELECT COUNT(*) AS violations
            FROM {Q(acc.Name)} a
            WHERE NOT EXISTS (SELECT 1 FROM {Q(cust.Name)} c WHERE {Key("c", email)} = {Key("a", user)});
            """));

        queries.Add(new NamedQuery(
            "check_customer_trusted_without_consent",
            "Expected 0: customer_trusted rows without a research consent date",
            $"SELECT COUNT(*) AS violations FROM {Q(cust.Name)} WHERE {consent} IS NULL;"));

        queries.Add(new NamedQuery(
            "check_step_trainer_trusted_serial_not_curated",
            "Expected 0: step_trainer_trusted readings whose serialNumber belongs to no customer_curated row",
            $"""
            SELECT COUNT(*) AS violations
            FROM {Q(step.Name)} s
            WHERE NOT EXISTS (SELECT 1 FROM {Q(curated.Name)} c WHERE c.{serial} = s.{Col(step, "serialNumber")});
            """));

        if (profile == ConsentProfile.Strict)
        {
            queries.Add(new NamedQuery(
                "check_accelerometer_trusted_before_consent",
                "Expected 0 (strict): accelerometer_trusted readings taken before their customer's consent time",
                $"""
                SELECT COUNT(*) AS violations
                FROM {Q(acc.Name)} a
                JOIN {Q(cust.Name)} c ON {Key("c", email)} = {Key("a", user)}
                WHERE a.{ts} < c.{consent};
                """));

            // strict's machine_learning_curated has no email column: find the accelerometer reading(s) the row was
            // built from (same hour partition, millisecond and x/y/z) and require that one of them belongs to a
            // curated customer owning the step reading's serial.
            queries.Add(new NamedQuery(
                "check_machine_learning_curated_cross_customer",
                "Expected 0: machine_learning_curated rows whose step reading and accelerometer reading belong to different customers",
                $"""
                SELECT COUNT(*) AS violations
                FROM {Q(ml.Name)} m
                WHERE NOT EXISTS (
                  SELECT 1
                  FROM {Q(acc.Name)} a
                  JOIN {Q(curated.Name)} c ON {Key("c", email)} = {Key("a", user)}
                  WHERE a.{hour} = m.{hour}
                    AND a.{ts} = m.{Col(ml, "timestamp")}
                    AND a.{Col(acc, "x")} = m.{Col(ml, "x")} AND a.{Col(acc, "y")} = m.{Col(ml, "y")} AND a.{Col(acc, "z")} = m.{Col(ml, "z")}
                    AND c.{serial} = m.{Col(ml, "serialNumber")});
                """));
        }
        else
        {
            // rubric keeps `user`, and joins on the millisecond only, so this count is expected to be NON-zero: it
            // measures how many pairs the course's join makes across customers.
            queries.Add(new NamedQuery(
                "check_machine_learning_curated_cross_customer",
                "Rubric profile: machine_learning_curated rows whose accelerometer user does not own the step reading's serial (non-zero by design of the course's join)",
                $"""
                SELECT COUNT(*) AS cross_customer_rows
                FROM {Q(ml.Name)} m
                WHERE NOT EXISTS (
                  SELECT 1 FROM {Q(curated.Name)} c
                  WHERE {Key("c", email)} = {Key("m", Col(ml, "user"))} AND c.{serial} = m.{Col(ml, "serialNumber")});
                """));
        }
        return queries;
    }

    private static string Q(string identifier) => $"\"{identifier}\"";

    /// <summary>A column of <paramref name="table"/>, quoted; throws if the schema has no such column, so a renamed
    /// column breaks the build instead of a query.</summary>
    private static string Col(TableSchema table, string column) => Q(table.Columns[table.Ordinal(table.Columns.Single(c => c.Name == column))].Name);
}
