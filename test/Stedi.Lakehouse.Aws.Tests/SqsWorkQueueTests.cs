namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>The refresh queue adapter on a moto FIFO queue (docs/ARCHITECTURE.md §7, trap a).</summary>
public sealed class SqsWorkQueueTests(MotoLake moto) : IClassFixture<MotoLake>
{
    [Fact]
    public async Task Messages_carry_the_table_partition_group_and_distinct_deduplication_ids()
    {
        var work = Enumerable.Range(0, 23).Select(i => new RefreshWork("accelerometer_trusted", $"2022-06-18-{i % 12:D2}")).ToList();

        await moto.Lake.WorkQueue.EnqueueAsync(work);
        var messages = await SqsDrain.ReceiveAllAsync(moto.Lake);

        Assert.Equal(23, messages.Count);
        Assert.All(messages, m =>
            Assert.Equal(SqsWorkQueue.ParseBody(m.Body).GroupId, m.Attributes["MessageGroupId"]));
        Assert.Equal(23, messages.Select(m => m.Attributes["MessageDeduplicationId"]).Distinct().Count());
        Assert.Equal(work.Select(w => w.GroupId).Order(StringComparer.Ordinal),
            messages.Select(m => SqsWorkQueue.ParseBody(m.Body).GroupId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_same_work_sent_twice_is_two_messages_not_a_deduplicated_one()
    {
        var work = new RefreshWork("customer_curated", "07");

        await moto.Lake.WorkQueue.EnqueueAsync([work]);
        await moto.Lake.WorkQueue.EnqueueAsync([work]);
        var messages = await SqsDrain.ReceiveAllAsync(moto.Lake);

        Assert.Equal(2, messages.Count(m => SqsWorkQueue.ParseBody(m.Body) == work));
    }

    [Fact]
    public void Body_is_table_and_partition_json_and_parses_back()
    {
        var body = SqsWorkQueue.FormatBody(new RefreshWork("step_trainer_trusted", "2022-06-18-15"));

        Assert.Equal("{\"table\":\"step_trainer_trusted\",\"partition\":\"2022-06-18-15\"}", body);
        Assert.Equal(new RefreshWork("step_trainer_trusted", "2022-06-18-15"), SqsWorkQueue.ParseBody(body));
        Assert.Throws<FormatException>(() => SqsWorkQueue.ParseBody("{\"table\":\"x\"}"));
        Assert.Throws<FormatException>(() => SqsWorkQueue.ParseBody("not json"));
    }
}

/// <summary>Coalescing on moto: pending marks in the index table, messages on the FIFO queue.</summary>
public sealed class SqsWorkQueueCoalescingTests(MotoLake moto) : IClassFixture<MotoLake>
{
    private static RefreshWork Fresh() => new("accelerometer_trusted", $"2022-06-18-{Guid.NewGuid():N}");

    private async Task<List<RefreshWork>> DeliveredAsync() =>
        [.. (await SqsDrain.ReceiveAllAsync(moto.Lake)).Select(m => SqsWorkQueue.ParseBody(m.Body))];

    [Fact]
    public async Task Two_producers_of_the_same_work_send_one_message()
    {
        var work = Fresh();

        await moto.Lake.WorkQueue.EnqueueAsync([work], "ingest customer/landing/a.json@v1");
        await moto.Lake.WorkQueue.EnqueueAsync([work, work], "ingest customer/landing/b.json@v1");

        Assert.Equal([work], await DeliveredAsync());
    }

    [Fact]
    public async Task Work_enqueued_after_the_recompute_started_is_a_new_message()
    {
        var work = Fresh();
        await moto.Lake.WorkQueue.EnqueueAsync([work], "ingest a");
        Assert.Equal([work], await DeliveredAsync());

        await moto.Lake.WorkQueue.StartingAsync(work);
        await moto.Lake.WorkQueue.EnqueueAsync([work], "ingest b");
        await moto.Lake.WorkQueue.EnqueueAsync([work], "ingest c");

        Assert.Equal([work], await DeliveredAsync());
    }

    [Fact]
    public async Task A_producer_retrying_after_a_crash_sends_again_and_the_plain_overload_never_coalesces()
    {
        var work = Fresh();
        var other = Fresh();
        await moto.Lake.WorkQueue.EnqueueAsync([work, other], "refine accelerometer_trusted/h1");
        await moto.Lake.WorkQueue.EnqueueAsync([work], "refine accelerometer_trusted/h1");
        await moto.Lake.WorkQueue.EnqueueAsync([work]);

        var delivered = await DeliveredAsync();
        Assert.Equal(3, delivered.Count(w => w == work));
        Assert.Equal(1, delivered.Count(w => w == other));
    }

    [Fact]
    public async Task A_queue_without_refine_state_sends_every_item_and_starting_is_a_no_op()
    {
        var queue = new SqsWorkQueue(moto.Lake.Sqs, moto.Lake.Config.RefreshQueueUrl);
        var work = Fresh();

        await queue.EnqueueAsync([work], "ingest a");
        await queue.StartingAsync(work);
        await queue.EnqueueAsync([work], "ingest b");

        Assert.Equal([work, work], await DeliveredAsync());
    }
}
