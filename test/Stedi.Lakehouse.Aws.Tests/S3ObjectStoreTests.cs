using Stedi.Lakehouse.Reading;
using System.Security.Cryptography;
using Amazon.S3.Model;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>S3-specific behaviour beyond the shared contract: multipart for long streams, version ids.</summary>
public sealed class S3ObjectStoreTests(MotoLake moto) : IClassFixture<MotoLake>
{
    [Fact]
    public async Task A_non_seekable_stream_longer_than_one_part_is_uploaded_in_parts()
    {
        var store = moto.Lake.ObjectStore;
        var key = $"tests/{Guid.NewGuid():N}/big.bin";
        var bytes = new byte[S3ObjectStore.PartSize + 1234];
        new Random(5).NextBytes(bytes);

        await store.PutAsync(key, new ForwardOnly(bytes), "application/octet-stream");

        var head = await store.HeadAsync(key);
        Assert.Equal(bytes.Length, head!.Size);
        Assert.EndsWith("-2", head.ETag); // multipart eTag: md5 of the part md5s, dash, part count
        Assert.DoesNotContain("\"", head.ETag);
        await using var read = await store.OpenReadAsync(key);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(copy.ToArray()));
    }

    [Fact]
    public async Task Head_reports_the_version_id_in_a_versioned_bucket()
    {
        var bucket = $"stedi-versioned-{Guid.NewGuid():N}"[..30];
        await moto.Lake.S3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        await moto.Lake.S3.PutBucketVersioningAsync(new PutBucketVersioningRequest
        {
            BucketName = bucket, VersioningConfig = new S3BucketVersioningConfig { Status = Amazon.S3.VersionStatus.Enabled },
        });
        var store = new S3ObjectStore(moto.Lake.S3, bucket);

        await store.PutAsync("landing/a.json", new MemoryStream([1, 2, 3]), "application/json");
        var first = await store.HeadAsync("landing/a.json");
        await store.PutAsync("landing/a.json", new MemoryStream([1, 2, 3]), "application/json");
        var second = await store.HeadAsync("landing/a.json");

        Assert.False(string.IsNullOrEmpty(first!.VersionId));
        Assert.NotEqual(first.VersionId, second!.VersionId);
        Assert.Equal(first.ETag, second.ETag);
        Assert.Null((await moto.Lake.ObjectStore.ListAsync("nothing-here/")).FirstOrDefault());
    }

    [Fact]
    public async Task A_read_by_version_id_returns_that_version_after_the_key_was_overwritten()
    {
        var bucket = $"stedi-versioned-{Guid.NewGuid():N}"[..30];
        await moto.Lake.S3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        await moto.Lake.S3.PutBucketVersioningAsync(new PutBucketVersioningRequest
        {
            BucketName = bucket, VersioningConfig = new S3BucketVersioningConfig { Status = Amazon.S3.VersionStatus.Enabled },
        });
        var store = new S3ObjectStore(moto.Lake.S3, bucket);
        await store.PutAsync("customer/landing/c.json", new MemoryStream("{\"v\":1}"u8.ToArray()), "application/json");
        var first = (await store.HeadAsync("customer/landing/c.json"))!.VersionId;
        await store.PutAsync("customer/landing/c.json", new MemoryStream("{\"v\":2}"u8.ToArray()), "application/json");
        var second = (await store.HeadAsync("customer/landing/c.json"))!.VersionId;

        Assert.Equal("{\"v\":1}", await ReadAllAsync(store.OpenReadAsync("customer/landing/c.json", first)));
        Assert.Equal("{\"v\":2}", await ReadAllAsync(store.OpenReadAsync("customer/landing/c.json", second)));
        Assert.Equal("{\"v\":2}", await ReadAllAsync(store.OpenReadAsync("customer/landing/c.json", null)));
        Assert.Equal("{\"v\":2}", await ReadAllAsync(((IObjectStore)store).OpenReadAsync("customer/landing/c.json")));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync("customer/landing/none.json", first));
    }

    private static async Task<string> ReadAllAsync(Task<Stream> open)
    {
        await using var s = await open;
        using var reader = new StreamReader(s);
        return await reader.ReadToEndAsync();
    }

    [Fact]
    public async Task Disposing_the_read_stream_releases_the_response()
    {
        var store = moto.Lake.ObjectStore;
        var key = $"tests/{Guid.NewGuid():N}/x.json";
        await store.PutAsync(key, new MemoryStream(new byte[100_000]), "application/json");

        // More open-and-dispose cycles than the connection pool allows concurrent connections: a leaked response
        // would exhaust it and hang.
        for (var i = 0; i < 60; i++)
        {
            await using var s = await store.OpenReadAsync(key);
            Assert.False(s.CanSeek);
            var buffer = new byte[10];
            Assert.Equal(10, await s.ReadAtLeastAsync(buffer, 10));
        }
    }

    private sealed class ForwardOnly(byte[] bytes) : ForwardOnlyReadStream
    {
        private readonly MemoryStream _inner = new(bytes);
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
    }
}
