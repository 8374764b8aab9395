using System.IO.Compression;
using System.Text;
using Stedi.Lakehouse.Reading;
using Stedi.Lakehouse.Refine;

namespace Stedi.Cases.Tests;

/// <summary>
/// The whole kind of fault behind <c>gzip-detection</c>, <c>utf8-bom</c> and <c>truncated-last-line</c>: content is
/// judged by its bytes (UTF-16 text, damaged or cut-short gzip), good records before the damage still go through,
/// and the rest is quarantined with a reason instead of failing the object (and retrying it forever).
/// </summary>
public sealed class EncodingTests
{
    private const long T = 1750000000000;

    private static byte[] Lines(int n) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, n).Select(i =>
        $$"""{"user":"alice@example.com","timestamp":{{T + 1000 + i}},"x":{{i % 7}}.0,"y":0.0,"z":0.0}""" + "\n")));

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static async Task<CaseRun> WithCustomerAsync()
    {
        var run = new CaseRun();
        await run.UploadCaseAsync("utf8-bom");
        await run.DeliverJsonAsync(await run.P.EventForAsync("customer/landing/customers.json"));
        return run;
    }

    [Theory]
    [InlineData("utf-16le")]
    [InlineData("utf-16be")]
    public async Task Utf16TextIsTranscoded(string encodingName)
    {
        using var run = await WithCustomerAsync();
        var enc = encodingName == "utf-16le" ? Encoding.Unicode : Encoding.BigEndianUnicode;
        var text = Encoding.UTF8.GetString(Lines(3)).Replace("\n", "\r\n");
        const string key = "accelerometer/landing/accelerometer-utf16.json";
        await run.PutAsync(key, [.. enc.GetPreamble(), .. enc.GetBytes(text)]);
        var r = await run.DeliverJsonAsync(await run.P.EventForAsync(key));
        Assert.Equal("ingested", r.Outcomes.Single().Status);
        Assert.Equal([T + 1000, T + 1001, T + 1002], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        Assert.Empty(run.AllQuarantine());
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal(("complete", true), (m.Status, m.Bom));
        Assert.Contains("UTF-16 text transcoded to UTF-8", m.Warnings);
    }

    [Theory]
    [InlineData("utf-16le", false)]
    [InlineData("utf-16be", false)]
    [InlineData("utf-16le", true)]
    public async Task Utf16TextWithoutAByteOrderMarkIsTranscodedToo(string encodingName, bool array)
    {
        // Once every record was invalid_json with a byte-level message ("'0x00' is an invalid start of a property name").
        using var run = await WithCustomerAsync();
        var enc = encodingName == "utf-16le" ? Encoding.Unicode : Encoding.BigEndianUnicode;
        var lines = Encoding.UTF8.GetString(Lines(3));
        var text = array ? "[" + string.Join(",", lines.TrimEnd().Split('\n')) + "]" : lines;
        const string key = "accelerometer/landing/accelerometer-utf16-nobom.json";
        await run.PutAsync(key, enc.GetBytes(text));
        await run.DeliverJsonAsync(await run.P.EventForAsync(key));
        Assert.Equal([T + 1000, T + 1001, T + 1002], run.Longs("SELECT \"timestamp\" FROM accelerometer_trusted ORDER BY 1"));
        Assert.Empty(run.AllQuarantine());
        var m = (await run.ManifestAsync(key))!;
        Assert.Equal(("complete", false), (m.Status, m.Bom));
        Assert.Contains("UTF-16 text transcoded to UTF-8", m.Warnings);
    }

    [Fact]
    public async Task GzippedUtf16IsReadToo()
    {
        using var run = await WithCustomerAsync();
        const string key = "accelerometer/landing/accelerometer-utf16.json.gz";
        await run.PutAsync(key, Gzip([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(Encoding.UTF8.GetString(Lines(2)))]));
        await run.DeliverJsonAsync(await run.P.EventForAsync(key));
        Assert.Equal(2, run.Count("accelerometer_trusted"));
        Assert.True((await run.ManifestAsync(key))!.Gzip);
    }

    /// <summary>A gzip member with stored (level 0) deflate blocks: its text is in it as written, so one byte can be changed in place.</summary>
    private static byte[] StoredGzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.NoCompression, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private const string DamagedKey = "accelerometer/landing/accelerometer-damaged.json.gz";

    /// <summary>Puts a damaged gzip object and delivers its event wrapped in SQS: acknowledged (never retried), its manifest returned.</summary>
    private static async Task<Stedi.Lakehouse.Ingest.IngestManifest> DeliverDamagedAsync(CaseRun run, byte[] gz)
    {
        await run.PutAsync(DamagedKey, gz);
        var r = await run.DeliverJsonAsync(CaseTests.WrapInSqs(await run.P.EventForAsync(DamagedKey)));
        Assert.Equal("ingested", r.Outcomes.Single().Status);
        Assert.Empty(r.BatchItemFailures);
        return (await run.ManifestAsync(DamagedKey))!;
    }

    [Theory]
    [InlineData("digit")]   // one digit of a timestamp changed inside stored data: decodes, parses, fails only the CRC-32
    [InlineData("crc")]     // the data intact, the trailer's CRC-32 changed
    [InlineData("deflate")] // 64 bytes of deflated data damaged
    public async Task GzipThatFailsItsIntegrityCheckStagesNothingAndCountsEveryRecordDecoded(string damage)
    {
        using var run = await WithCustomerAsync();
        const int n = 5_000;
        var text = Lines(n);
        byte[] gz;
        if (damage == "deflate")
        {
            gz = Gzip(text);
            for (var i = gz.Length / 2; i < gz.Length / 2 + 64; i++) gz[i] ^= 0x5A;
        }
        else
        {
            gz = StoredGzip(text);
            if (damage == "crc") gz[^8] ^= 0x01;
            else
            {
                var at = gz.AsSpan().IndexOf(Encoding.UTF8.GetBytes($"\"timestamp\":{T + 1000 + 4321},"));
                gz[at + 20] = (byte)(gz[at + 20] == (byte)'9' ? '8' : '9');
            }
        }
        var m = await DeliverDamagedAsync(run, gz);
        Assert.Equal(("corrupt", 0L, 0), (m.Status, m.RowsStaged, m.StagedKeys.Count));
        Assert.True(m.RowsRead > 0, $"read {m.RowsRead}");
        Assert.Equal(m.RowsRead, m.RowsQuarantined);
        Assert.Equal(m.RowsRead, m.QuarantinedByReason[ReasonCodes.CorruptCompression]);
        Assert.Equal(0, run.Count("accelerometer_trusted"));
        var q = Assert.Single(run.Quarantine("accelerometer"));
        Assert.Equal(ReasonCodes.CorruptCompression, q.Reason);
        Assert.StartsWith("the gzip data failed its integrity check", q.Detail);
        Assert.True((await run.ReconcileAsync()).Single(o => o.LandingKey == DamagedKey).Balanced);
    }

    [Fact]
    public async Task DamagedGzipIsPartiallyIngestedNotFailed()
    {
        // Cut short (an upload that stopped): the records before the cut stand; no checksum says they are wrong.
        using var run = await WithCustomerAsync();
        const int n = 20_000;
        var gz = Gzip(Lines(n));
        gz = gz[..(gz.Length / 2)];
        var m = await DeliverDamagedAsync(run, gz);
        Assert.Equal("partial", m.Status);
        Assert.True(m.RowsStaged > 0 && m.RowsStaged < n, $"staged {m.RowsStaged}");
        Assert.True(m.RowsQuarantined >= 1);
        var q = run.Quarantine("accelerometer");
        Assert.NotEmpty(q);
        // Damaged deflate data may decode to garbage text (quarantined with whatever reason fits) or fail (corrupt_compression): never an exception.
        var known = typeof(ReasonCodes).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToHashSet();
        Assert.All(q, x => Assert.Contains(x.Reason, known));
        Assert.Equal(m.RowsQuarantined, q.Count);
        // The case folder's accelerometer file was uploaded with the customers but never delivered: the report says so.
        var rec = await run.ReconcileAsync();
        Assert.Equal("accelerometer/landing/accelerometer-bom.json", rec.Single(o => o.Status == ObjectReconciliation.NotIngestedStatus).LandingKey);
        Assert.All(rec.Where(o => o.Status != ObjectReconciliation.NotIngestedStatus), o => Assert.True(o.Balanced));
    }
}
