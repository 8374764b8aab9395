namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>The refresh queue adapter on a moto FIFO queue (DESIGN.md §4 trap a).</summary>
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
