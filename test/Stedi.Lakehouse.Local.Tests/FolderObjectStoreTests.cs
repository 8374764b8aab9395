using Stedi.Lakehouse.Reading;
using System.Text;

namespace Stedi.Lakehouse.Local.Tests;

public sealed class FolderObjectStoreTests : ObjectStoreContract, IDisposable
{
    private readonly TempFolder _root = new();
    private readonly FolderObjectStore _store;

    public FolderObjectStoreTests() => _store = new FolderObjectStore(_root.Path, "stedi-lake");

    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(_store);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Objects_are_files_under_root_bucket_key()
    {
        await _store.PutAsync("customer/landing/customer 1.json", new MemoryStream("{}"u8.ToArray()), "application/json");

        var path = Path.Combine(_root.Path, "stedi-lake", "customer", "landing", "customer 1.json");
        Assert.Equal("{}", await File.ReadAllTextAsync(path));
        Assert.Equal(path, _store.PathOf("customer/landing/customer 1.json"));
        Assert.Equal(Path.Combine(_root.Path, "stedi-lake"), _store.BucketFolder);
    }

    [Fact]
    public async Task Listing_does_not_enter_a_symbolic_link_to_a_folder_and_lists_a_link_to_a_file()
    {
        // landing/loop -> .. made every listing (watch, report) fail with "too many levels of symbolic links".
        await _store.PutAsync("accelerometer/landing/a.json", new MemoryStream("{}"u8.ToArray()), "application/json");
        var landing = Path.Combine(_root.Path, "stedi-lake", "accelerometer", "landing");
        Directory.CreateSymbolicLink(Path.Combine(landing, "loop"), "..");
        File.CreateSymbolicLink(Path.Combine(landing, "b.json"), Path.Combine(landing, "a.json"));
        var listed = await _store.ListAsync("accelerometer/");
        Assert.Equal(["accelerometer/landing/a.json", "accelerometer/landing/b.json"], listed.Select(o => o.Key));
        Assert.Equal(2, listed[1].Size);
    }

    [Theory]
    [InlineData("../escape.json")]
    [InlineData("a/../../escape.json")]
    [InlineData("a/./b.json")]
    [InlineData("a//b.json")]
    [InlineData("/absolute.json")]
    [InlineData("folder/")]
    [InlineData("a/.stedi-tmp-x.tmp")]
    public async Task Keys_with_dot_dot_or_empty_segments_are_rejected(string key)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.PutAsync(key, new MemoryStream([1]), "x"));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.HeadAsync(key));
        Assert.False(File.Exists(Path.Combine(_root.Path, "escape.json")));
    }

    [Fact]
    public async Task In_flight_temp_files_are_not_listed_and_a_failed_put_leaves_nothing()
    {
        Directory.CreateDirectory(Path.Combine(_store.BucketFolder, "p"));
        await File.WriteAllTextAsync(Path.Combine(_store.BucketFolder, "p", ".stedi-tmp-abc.tmp"), "partial");
        await _store.PutAsync("p/ok.json", new MemoryStream([1]), "x");

        await Assert.ThrowsAsync<IOException>(() => _store.PutAsync("p/failed.json", new FailingStream(), "x"));

        Assert.Equal(["p/ok.json"], (await _store.ListAsync("p/")).Select(o => o.Key));
        Assert.Null(await _store.HeadAsync("p/failed.json"));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_store.BucketFolder, "p")).Length); // ok.json + the planted temp file
    }

    [Fact]
    public async Task A_reader_keeps_the_old_content_while_the_key_is_replaced()
    {
        await _store.PutAsync("k.txt", new MemoryStream(Encoding.UTF8.GetBytes("old")), "text/plain");
        await using var reader = await _store.OpenReadAsync("k.txt");

        await _store.PutAsync("k.txt", new MemoryStream(Encoding.UTF8.GetBytes("new!")), "text/plain");

        using var text = new StreamReader(reader);
        Assert.Equal("old", await text.ReadToEndAsync());
        Assert.Equal(4, (await _store.HeadAsync("k.txt"))!.Size);
    }

    [Fact]
    public void Keys_list_in_utf8_byte_order_like_s3()
    {
        // U+1F600 is a surrogate pair (0xD83D...) and sorts before U+FF5E in UTF-16 code units, after it in UTF-8 bytes.
        string[] keys = ["a", "\uFF5E", "\U0001F600", "b", "\u00E9"];
        var sorted = keys.Order(Comparer<string>.Create(FolderObjectStore.Utf8Compare)).ToArray();
        Assert.Equal(["a", "b", "\u00E9", "\uFF5E", "\U0001F600"], sorted);
    }

    private sealed class FailingStream : ForwardOnlyReadStream
    {
        private int _reads;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_reads++ > 0) throw new IOException("connection reset");
            buffer[offset] = 42;
            return 1;
        }
    }
}
