using System.Text.RegularExpressions;
using Stedi.Lakehouse.Engine;
using Stedi.Lakehouse.Index;
using Stedi.Lakehouse.Local;
using Stedi.Lakehouse.Ports;

namespace Stedi.Lakehouse.UnitTests;

/// <summary>The declared refresh graph: equal to the README's diagram, ranked, and resolved through the index.</summary>
public sealed class GraphTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stedi-graph-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private static string Node(Node n) => n.Kind switch
    {
        NodeKind.Source => "staged_" + n.Name,
        _ => n.Name,
    };

    private static string Label(Edge e) =>
        (e.Mapping switch
        {
            PartitionMapping.SamePartition => "same partition",
            PartitionMapping.CustomerBucket => "customer bucket",
            PartitionMapping.CustomerHours => "customer hours",
            _ => "serial hours",
        }) + " · " + (e.When switch { Trigger.Always => "always", Trigger.OnChange => "on change", _ => "on flip" });

    [Fact]
    public void The_declared_graph_is_the_one_the_README_draws()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var block = readme[readme.IndexOf("staged_customer -- ", StringComparison.Ordinal)..];
        block = block[..block.IndexOf("```", StringComparison.Ordinal)];
        var drawn = Regex.Matches(block, @"^\s*(\w+) -- ""([^""]+)"" --> (\w+)\s*$", RegexOptions.Multiline)
            .Select(m => $"{m.Groups[1].Value} [{m.Groups[2].Value}] {m.Groups[3].Value}").Order(StringComparer.Ordinal).ToList();
        var declared = RefreshGraph.Stedi.Edges.Select(e => $"{Node(e.From)} [{Label(e)}] {e.To}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(13, declared.Count);
        Assert.Equal(declared, drawn);
    }

    [Fact]
    public void Ranks_order_the_tables_by_their_dependencies()
    {
        var g = RefreshGraph.Stedi;
        Assert.Equal(0, g.Rank(Tables.CustomerTrusted.Name));
        Assert.Equal(0, g.Rank(Tables.AccelerometerTrusted.Name));
        Assert.Equal(1, g.Rank(Tables.CustomerCurated.Name));
        Assert.Equal(1, g.Rank(Tables.StepTrainerTrusted.Name));
        Assert.Equal(2, g.Rank(Tables.MachineLearningCuratedName));
        Assert.Equal(["accelerometer_trusted", "customer_trusted", "customer_curated", "step_trainer_trusted", "machine_learning_curated"], g.TablesInOrder);
    }

    [Fact]
    public void A_cycle_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new RefreshGraph(
        [
            new(Engine.Node.Table("a"), "b", PartitionMapping.SamePartition, Trigger.OnChange),
            new(Engine.Node.Table("b"), "a", PartitionMapping.SamePartition, Trigger.OnChange),
        ]));
    }

    [Fact]
    public async Task Follow_ups_resolve_each_mapping_through_the_index()
    {
        using var local = LocalIndex.Open(Path.Combine(_dir, "index.sqlite"), HmacCustomerKeys.FromText("a-test-secret-of-16+"));
        var index = local.Index;
        var ann = index.Keys.KeyOf("ann@x.com");
        await index.Customers.PutVersionsAsync([new CustomerVersion(ann, "v1", "S-1", 1, true, 1, "{}")]);
        await index.Partitions.AddMembershipAsync(
        [
            new(MemberKind.Customer, ann, "2025-06-15-10"), new(MemberKind.Customer, ann, "2025-06-15-11"),
            new(MemberKind.Serial, "S-1", "2025-06-15-11"), new(MemberKind.Serial, "S-1", "2025-06-15-12"),
        ]);
        var customers = new[] { new ChangedCustomer(ann, "07") };
        var g = RefreshGraph.Stedi;

        var consent = await g.FollowUpsAsync(new Change(Engine.Node.Consent, [], true, customers), index);
        Assert.Equal(
            ["accelerometer_trusted/2025-06-15-10", "accelerometer_trusted/2025-06-15-11", "customer_trusted/07",
             "machine_learning_curated/2025-06-15-10", "machine_learning_curated/2025-06-15-11",
             "step_trainer_trusted/2025-06-15-11", "step_trainer_trusted/2025-06-15-12"],
            consent.Select(w => w.GroupId).Order(StringComparer.Ordinal));

        // An unchanged accelerometer_trusted partition with no flips: nothing follows.
        Assert.Empty(await g.FollowUpsAsync(new Change(Engine.Node.Table("accelerometer_trusted"), ["2025-06-15-10"], false, []), index));
        // Changed, and the customer's only readings appeared: same hour downstream, the bucket, the serial's hours.
        var flip = await g.FollowUpsAsync(new Change(Engine.Node.Table("accelerometer_trusted"), ["2025-06-15-10"], true, customers), index);
        Assert.Equal(
            ["customer_curated/07", "machine_learning_curated/2025-06-15-10", "step_trainer_trusted/2025-06-15-10",
             "step_trainer_trusted/2025-06-15-11", "step_trainer_trusted/2025-06-15-12"],
            flip.Select(w => w.GroupId).Order(StringComparer.Ordinal));
        // A retracted record's serial is followed even when no current version carries it.
        var retracted = await g.FollowUpsAsync(new Change(Engine.Node.Consent, [], true, [new ChangedCustomer(index.Keys.KeyOf("gone@x.com"), "03")], ["S-1"]), index);
        Assert.Contains(new RefreshWork("step_trainer_trusted", "2025-06-15-12"), retracted);
        Assert.Contains(new RefreshWork("customer_trusted", "03"), retracted);
    }
}

/// <summary>The repository root.</summary>
internal static class Repo
{
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "StediServerless.sln"))) return d.FullName;
        throw new InvalidOperationException("StediServerless.sln not found");
    }
}
