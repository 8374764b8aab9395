using Stedi.Lakehouse.Reading;
using System.Security.Cryptography;
using System.Text;

namespace Stedi.Lakehouse.Contracts;

/// <summary>
/// The behaviour every <see cref="IObjectStore"/> must have. Subclass it with a factory for the adapter under test.
/// Each test writes under its own random prefix, so one bucket (or emulator) can be shared by every test.
/// Keys never use a name that is both an object and a folder prefix, which a folder-backed store cannot hold.
/// </summary>
public abstract class ObjectStoreContract
{
    /// <summary>The store under test (may be shared by tests; each test uses fresh keys).</summary>
    protected abstract Task<IObjectStore> CreateStoreAsync();

    /// <summary>A prefix no other test uses, ending in '/'.</summary>
    protected static string FreshPrefix() => $"contract/{Guid.NewGuid():N}/";

    private static async Task PutBytesAsync(IObjectStore store, string key, byte[] bytes) =>
        await store.PutAsync(key, new MemoryStream(bytes), "application/octet-stream");

    private static async Task<byte[]> ReadBytesAsync(IObjectStore store, string key)
    {
        await using var stream = await store.OpenReadAsync(key);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    private static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task Put_then_read_round_trips_bytes()
    {
        var store = await CreateStoreAsync();
        var key = FreshPrefix() + "data.bin";
        var bytes = RandomBytes(300_000, 1);

        await PutBytesAsync(store, key, bytes);

        Assert.Equal(bytes, await ReadBytesAsync(store, key));
    }

    [Fact]
    public async Task Empty_object_round_trips()
    {
        var store = await CreateStoreAsync();
        var key = FreshPrefix() + "empty.json";

        await PutBytesAsync(store, key, []);

        Assert.Empty(await ReadBytesAsync(store, key));
        var head = await store.HeadAsync(key);
        Assert.NotNull(head);
        Assert.Equal(0, head.Size);
    }

    [Fact]
    public async Task Put_accepts_a_non_seekable_stream()
    {
        var store = await CreateStoreAsync();
        var key = FreshPrefix() + "streamed.json";
        var bytes = RandomBytes(1_500_000, 2);

        await store.PutAsync(key, new ForwardOnlyStream(bytes), "application/json");

        Assert.Equal(bytes, await ReadBytesAsync(store, key));
    }

    [Fact]
    public async Task Head_returns_key_size_and_md5_etag()
    {
        var store = await CreateStoreAsync();
        var key = FreshPrefix() + "customer-1.json";
        var bytes = Encoding.UTF8.GetBytes("{\"email\":\"a@b.c\"}\n");

        await PutBytesAsync(store, key, bytes);
        var head = await store.HeadAsync(key);

        Assert.NotNull(head);
        Assert.Equal(key, head.Key);
        Assert.Equal(bytes.Length, head.Size);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(bytes)), head.ETag.ToLowerInvariant());
    }

    [Fact]
    public async Task Head_of_missing_object_is_null()
    {
        var store = await CreateStoreAsync();

        Assert.Null(await store.HeadAsync(FreshPrefix() + "missing.json"));
    }

    [Fact]
    public async Task Reading_a_missing_object_throws_ObjectNotFoundException()
    {
        var store = await CreateStoreAsync();
        var key = FreshPrefix() + "missing.json";

        var e = await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync(key));
        Assert.Equal(key, e.Key);
    }

    [Fact]
    public async Task Put_replaces_an_existing_object()
    {
        var store = await CreateStoreAsync();
        var key = FreshPrefix() + "part-00000.parquet";
        await PutBytesAsync(store, key, RandomBytes(1000, 3));
        var first = await store.HeadAsync(key);
        var second = RandomBytes(700, 4);

        await PutBytesAsync(store, key, second);

        Assert.Equal(second, await ReadBytesAsync(store, key));
        var head = await store.HeadAsync(key);
        Assert.Equal(700, head!.Size);
        Assert.NotEqual(first!.ETag, head.ETag);
    }

    [Theory]
    [InlineData("landing/customer 1.json")]
    [InlineData("landing/a+b=c.json")]
    [InlineData("landing/ünïcödé-顧客-😀.json")]
    [InlineData("reading_hour=2022-06-18-15/part 00000+x.parquet")]
    public async Task Keys_with_spaces_plus_and_unicode_round_trip(string name)
    {
        var store = await CreateStoreAsync();
        var prefix = FreshPrefix();
        var key = prefix + name;
        var bytes = Encoding.UTF8.GetBytes(name);

        await PutBytesAsync(store, key, bytes);

        Assert.Equal(bytes, await ReadBytesAsync(store, key));
        Assert.Equal(bytes.Length, (await store.HeadAsync(key))!.Size);
        var listed = await store.ListAsync(prefix);
        Assert.Equal([key], listed.Select(o => o.Key));
        await store.DeleteAsync(key);
        Assert.Null(await store.HeadAsync(key));
    }

    [Fact]
    public async Task List_returns_every_key_under_the_prefix_in_key_order()
    {
        var store = await CreateStoreAsync();
        var prefix = FreshPrefix();
        string[] names = ["b/2.json", "a.json", "b/1.json", "a b.json", "a+b.json", "ab/x.json", "b/c/d/e.json", "Z.json"];
        foreach (var name in names) await PutBytesAsync(store, prefix + name, Encoding.UTF8.GetBytes(name));
        await PutBytesAsync(store, prefix.TrimEnd('/') + "-sibling/outside.json", [1]);

        var listed = await store.ListAsync(prefix);

        Assert.Equal(
            ["Z.json", "a b.json", "a+b.json", "a.json", "ab/x.json", "b/1.json", "b/2.json", "b/c/d/e.json"],
            listed.Select(o => o.Key[prefix.Length..]));
        Assert.All(listed, o => Assert.Equal(Encoding.UTF8.GetByteCount(o.Key[prefix.Length..]), o.Size));
    }

    [Fact]
    public async Task List_matches_a_prefix_that_ends_inside_a_name()
    {
        var store = await CreateStoreAsync();
        var prefix = FreshPrefix();
        foreach (var name in new[] { "hour=01/x.parquet", "hour=02/x.parquet", "hour=10/x.parquet", "other.json" })
            await PutBytesAsync(store, prefix + name, [7]);

        var listed = await store.ListAsync(prefix + "hour=0");

        Assert.Equal([prefix + "hour=01/x.parquet", prefix + "hour=02/x.parquet"], listed.Select(o => o.Key));
    }

    [Fact]
    public async Task List_of_an_unknown_prefix_is_empty()
    {
        var store = await CreateStoreAsync();

        Assert.Empty(await store.ListAsync(FreshPrefix()));
        Assert.Empty(await store.ListAsync(FreshPrefix() + "deeper/still/"));
    }

    [Fact]
    public async Task List_returns_more_than_one_page_of_keys()
    {
        var store = await CreateStoreAsync();
        var prefix = FreshPrefix();
        var keys = Enumerable.Range(0, 1_100).Select(i => $"{prefix}{i:D5}.json").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (key, _) => await PutBytesAsync(store, key, [1, 2]));

        var listed = await store.ListAsync(prefix);

        Assert.Equal(keys, listed.Select(o => o.Key));
    }

    [Fact]
    public async Task Delete_removes_the_object_and_deleting_again_is_not_an_error()
    {
        var store = await CreateStoreAsync();
        var prefix = FreshPrefix();
        await PutBytesAsync(store, prefix + "keep.json", [1]);
        await PutBytesAsync(store, prefix + "drop.json", [2]);

        await store.DeleteAsync(prefix + "drop.json");
        await store.DeleteAsync(prefix + "drop.json");
        await store.DeleteAsync(prefix + "never-existed/x.json");

        Assert.Null(await store.HeadAsync(prefix + "drop.json"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync(prefix + "drop.json"));
        Assert.Equal([prefix + "keep.json"], (await store.ListAsync(prefix)).Select(o => o.Key));
    }

    [Fact]
    public async Task Concurrent_writers_of_one_key_leave_one_complete_object()
    {
        var store = await CreateStoreAsync();
        var key = FreshPrefix() + "contended.bin";
        var versions = Enumerable.Range(0, 8).Select(i => RandomBytes(200_000, 100 + i)).ToList();

        await Task.WhenAll(versions.Select(v => Task.Run(() => PutBytesAsync(store, key, v))));

        var final = await ReadBytesAsync(store, key);
        Assert.Contains(versions, v => v.AsSpan().SequenceEqual(final));
        Assert.Equal([key], (await store.ListAsync(key)).Select(o => o.Key));
    }

    /// <summary>A read-only stream that cannot seek or report its length, as a network body.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : ForwardOnlyReadStream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 8192));
    }
}
