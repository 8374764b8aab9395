namespace Stedi.Lakehouse.Local.Tests;

using Stedi.Lakehouse.Index;

/// <summary>The local lake's own customer-key secret: made once per lake, private to its owner, read on every open.</summary>
public sealed class LakeSecretTests : IDisposable
{
    private readonly TempFolder _root = new();

    public void Dispose() => _root.Dispose();

    private string Lake(string name = "lake") => Path.Combine(_root.Path, name);

    [Fact]
    public void A_new_lake_gets_32_random_bytes_as_hex_readable_by_its_owner_only()
    {
        using var lake = new LocalLake(Lake());
        var path = Path.Combine(lake.Root, LakeSecret.FileName);

        var text = File.ReadAllText(path).Trim();
        Assert.Equal(64, text.Length);
        Assert.Equal(32, Convert.FromHexString(text).Length);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(new HmacCustomerKeys(Convert.FromHexString(text)).KeyOf("ann@example.com"), lake.CustomerKeys.KeyOf("ann@example.com"));
        Assert.Empty(Directory.GetFiles(lake.Root, "*.tmp"));
    }

    [Fact]
    public async Task Reopening_a_lake_keeps_its_keys_and_index_and_another_lake_has_other_keys()
    {
        string key;
        using (var lake = new LocalLake(Lake()))
        {
            key = lake.CustomerKeys.KeyOf("ann@example.com");
            await lake.Index.Customers.PutVersionsAsync([new(key, "v1", null, null, false, null, "{}")]);
            Assert.Same(lake.CustomerKeys, lake.Index.Keys);
        }

        using var reopened = new LocalLake(Lake());
        using var other = new LocalLake(Lake("other"));

        Assert.Equal(64, key.Length);
        Assert.Equal(key, reopened.CustomerKeys.KeyOf("ann@example.com"));
        Assert.Single(await reopened.Index.Customers.GetVersionsAsync([key]));
        Assert.NotEqual(key, other.CustomerKeys.KeyOf("ann@example.com"));
    }

    [Fact]
    public void A_lake_whose_index_exists_without_its_secret_is_refused_rather_than_given_a_new_one()
    {
        new LocalLake(Lake()).Dispose();
        File.Delete(Path.Combine(Lake(), LakeSecret.FileName));

        var error = Assert.Throws<InvalidDataException>(() => new LocalLake(Lake()));
        Assert.Contains(LakeSecret.FileName, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Lake(), LakeSecret.FileName)));
    }

    [Fact]
    public void A_secret_that_is_not_hex_of_at_least_16_bytes_is_refused()
    {
        new LocalLake(Lake()).Dispose();
        File.WriteAllText(Path.Combine(Lake(), LakeSecret.FileName), "not-a-secret\n");

        Assert.Throws<InvalidDataException>(() => new LocalLake(Lake()));
    }

    [Fact]
    public async Task A_lake_root_holds_only_the_entries_LocalLake_names_so_tools_recognise_it_as_a_lake()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using (var lake = new LocalLake(Lake()))
        {
            await lake.Store.PutAsync("customer/landing/a.json", new MemoryStream("{}"u8.ToArray()), "application/json");
            await lake.Index.Refine.PutOutcomeAsync(new("t", "p", 1, "h", null));
            lake.WorkJournal.Save([(new Stedi.Lakehouse.Ports.RefreshWork("t", "p"), WorkState.Queued)]);
            seen.UnionWith(Directory.EnumerateFileSystemEntries(lake.Root).Select(e => Path.GetFileName(e)!));
        }
        seen.UnionWith(Directory.EnumerateFileSystemEntries(Lake()).Select(e => Path.GetFileName(e)!));

        Assert.Subset(LocalLake.EntryNames.ToHashSet(StringComparer.Ordinal), seen);
        Assert.Contains(LocalLake.IndexFileName, seen);
        Assert.Contains(LakeSecret.FileName, seen);
    }
}
