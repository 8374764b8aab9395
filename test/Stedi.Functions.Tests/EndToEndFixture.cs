using System.Diagnostics;
using Amazon.SQS.Model;
using Stedi.Functions;
using Stedi.Lakehouse.Aws;

namespace Stedi.Functions.Tests;

/// <summary>
/// One emulated deployment on moto per profile, fed the real landing data, next to a local run
/// (<see cref="LocalPipeline"/>) of the same data. With <see cref="Redeliver"/>, every landing message is then delivered
/// twice more in reverse order and every refresh message once more, and the tables are read again.
/// </summary>
public abstract class EndToEndFixture : IAsyncLifetime
{
    private string? _localDir;

    public abstract ConsentProfile Profile { get; }
    /// <summary>Sources uploaded one after the other, each drained before the next (null: everything at once, customer first).</summary>
    protected virtual IReadOnlyList<string>? Phases => null;
    protected virtual bool Redeliver => false;
    /// <summary>Run only with <c>STEDI_SLOW_TESTS=1</c> (see <see cref="SlowTests"/>).</summary>
    public virtual bool Slow => false;

    public EmulatedDeployment Deployment { get; private set; } = null!;
    public IReadOnlyList<string> UploadedKeys { get; private set; } = [];
    public PublishedData Local { get; private set; } = null!;
    public PublishedData Emulated { get; private set; } = null!;
    public RunSummary Summary { get; private set; } = null!;
    public long DeadLetters { get; private set; }
    public IReadOnlyList<RecordOutcome> FirstOutcomes { get; private set; } = [];
    public TimeSpan EmulationTime { get; private set; }
    public PublishedData? AfterRedelivery { get; private set; }
    public IReadOnlyList<RecordOutcome> RedeliveryOutcomes { get; private set; } = [];
    public int RedeliveredLanding { get; private set; }
    public int RedeliveredRefresh { get; private set; }
    public long DeadLettersAfterRedelivery { get; private set; }
    public TimeSpan RedeliveryTime { get; private set; }
    /// <summary>The S3, DynamoDB and SQS requests of the first load (the functions', and the 13 uploads' PUTs).</summary>
    public IReadOnlyList<AwsCallLog.Call> FirstLoadCalls { get; private set; } = [];

    public async Task InitializeAsync()
    {
        if (Slow && !SlowTests.Enabled) return;
        var endpoint = await Moto.EndpointAsync();
        _localDir = Path.Combine(Path.GetTempPath(), "stedi-local-" + Guid.NewGuid().ToString("N")[..8]);
        using (var local = new LocalPipeline(_localDir, Profile))
        {
            await local.ReplayAsync(Repo.Landing, new ReplayOptions());
            Local = await PublishedData.ReadAsync(local.Lake.Store, Profile);
        }

        var sw = Stopwatch.StartNew();
        Deployment = await EmulatedDeployment.CreateAsync(endpoint, new EmulationSettings(EmulationSettings.NewName(), Profile));
        using var calls = new AwsCallLog(Deployment.Lake.S3, Deployment.Lake.DynamoDb, Deployment.Lake.Sqs);
        if (Phases is null)
        {
            UploadedKeys = await Deployment.UploadAsync(Repo.Landing);
            await Deployment.RunUntilQuietAsync();
        }
        else
        {
            var keys = new List<string>();
            foreach (var source in Phases)
            {
                keys.AddRange(await Deployment.UploadAsync(Repo.Landing, all => all.Where(k => k.StartsWith(source + "/", StringComparison.Ordinal)).Reverse()));
                await Deployment.RunUntilQuietAsync();
            }
            UploadedKeys = keys;
        }
        EmulationTime = sw.Elapsed;
        FirstLoadCalls = calls.Calls;
        calls.Dispose();
        Emulated = await Deployment.ReadPublishedAsync();
        Summary = await Deployment.SummarizeAsync(sw.Elapsed);
        DeadLetters = await Deployment.DeadLettersAsync();
        FirstOutcomes = Deployment.IngestOutcomes;

        if (!Redeliver) return;
        sw.Restart();
        var deliveries = Deployment.Deliveries;
        var landing = deliveries.Where(d => d.Source != EmulatedDeployment.RefreshSource).Reverse().ToList();
        foreach (var d in landing)
            for (var i = 0; i < 2; i++)
                await Deployment.Lake.Sqs.SendMessageAsync(new SendMessageRequest { QueueUrl = Deployment.LandingQueues[d.Source].Url, MessageBody = d.Body });
        var refresh = deliveries.Where(d => d.Source == EmulatedDeployment.RefreshSource).Select(d => d.Body).Distinct().Reverse()
            .Select(SqsWorkQueue.ParseBody).ToList();
        await Deployment.Lake.WorkQueue.EnqueueAsync(refresh);
        (RedeliveredLanding, RedeliveredRefresh) = (landing.Count * 2, refresh.Count);
        await Deployment.RunUntilQuietAsync();
        RedeliveryOutcomes = Deployment.IngestOutcomes.Skip(FirstOutcomes.Count).ToList();
        AfterRedelivery = await Deployment.ReadPublishedAsync();
        DeadLettersAfterRedelivery = await Deployment.DeadLettersAsync();
        RedeliveryTime = sw.Elapsed;
    }

    public Task DisposeAsync()
    {
        Deployment?.Dispose();
        if (_localDir is not null && Directory.Exists(_localDir)) Directory.Delete(_localDir, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>Strict profile, uploads in the usual order, then every message redelivered.</summary>
public sealed class StrictEndToEnd : EndToEndFixture
{
    public override ConsentProfile Profile => ConsentProfile.Strict;
    protected override bool Redeliver => true;
}

/// <summary>Rubric profile, delivered in another order: step trainer, then accelerometer, then customer (consent last),
/// each drained before the next. Slow (three drains of the real data); <c>STEDI_SLOW_TESTS=1</c> runs it.</summary>
public sealed class RubricEndToEnd : EndToEndFixture
{
    public override ConsentProfile Profile => ConsentProfile.Rubric;
    public override bool Slow => true;
    protected override IReadOnlyList<string>? Phases => ["step_trainer", "accelerometer", "customer"];
}
