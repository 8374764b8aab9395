using System.Collections.Concurrent;
using System.Net;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.S3.Model;

namespace Stedi.Functions.Tests;

/// <summary>
/// Every request an AWS SDK client sends, as the SDK's own pipeline reports it (the client's <c>AfterResponseEvent</c>
/// and <c>ExceptionEvent</c>): the operation, the S3 key (or the prefix of a list), the HTTP status and, for DynamoDB,
/// the capacity units the request would consume on demand. Attached to the real clients the functions use, so nothing
/// is mocked: these are the calls that went to moto.
/// </summary>
public sealed class AwsCallLog : IDisposable
{
    /// <summary>One request. S3 operations are named GET, HEAD, LIST, PUT (PutObject and multipart parts) and DELETE;
    /// others by their API name. <paramref name="ReadUnits"/> and <paramref name="WriteUnits"/> are DynamoDB's.</summary>
    public sealed record Call(string Service, string Operation, string Key, HttpStatusCode Status, double ReadUnits = 0, double WriteUnits = 0);

    private readonly List<AmazonServiceClient> _clients = [];
    private readonly ConcurrentQueue<Call> _calls = new();

    /// <summary>Starts recording the calls of the given clients (S3, DynamoDB, SQS...).</summary>
    public AwsCallLog(params object[] clients)
    {
        foreach (var c in clients.Cast<AmazonServiceClient>())
        {
            c.AfterResponseEvent += OnResponse;
            c.ExceptionEvent += OnException;
            _clients.Add(c);
        }
    }

    /// <summary>The calls recorded so far.</summary>
    public IReadOnlyList<Call> Calls => _calls.ToList();

    /// <summary>The S3 calls recorded so far.</summary>
    public IReadOnlyList<Call> S3 => Calls.Where(c => c.Service == "S3").ToList();

    /// <summary>Forgets the calls recorded so far.</summary>
    public void Clear() => _calls.Clear();

    /// <summary>S3 GETs and HEADs answered 404: the calls a role without <c>s3:ListBucket</c> gets 403 for.</summary>
    public IReadOnlyList<Call> ReadsOfMissingKeys =>
        S3.Where(c => c.Operation is "GET" or "HEAD" && c.Status == HttpStatusCode.NotFound).ToList();

    /// <summary>One line per (service, operation): count, and DynamoDB's units.</summary>
    public IEnumerable<string> Summary() => Calls.GroupBy(c => (c.Service, c.Operation)).OrderBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.Operation, StringComparer.Ordinal)
        .Select(g => $"{g.Key.Service} {g.Key.Operation}: {g.Count()}" + (g.Key.Service == "DynamoDB" ? $" ({g.Sum(c => c.ReadUnits):0} RRU, {g.Sum(c => c.WriteUnits):0} WRU)" : ""));

    private void OnResponse(object sender, ResponseEventArgs e)
    {
        if (e is WebServiceResponseEventArgs w) Add(w.ServiceName, w.Request, w.Response, w.Response?.HttpStatusCode ?? HttpStatusCode.OK);
    }

    private void OnException(object sender, ExceptionEventArgs e)
    {
        if (e is not WebServiceExceptionEventArgs w) return;
        var status = w.Exception switch
        {
            AmazonServiceException s => s.StatusCode,
            Amazon.Runtime.Internal.HttpErrorResponseException h => h.Response.StatusCode,
            _ => (HttpStatusCode)0,
        };
        Add(w.ServiceName, w.Request, null, status);
    }

    private void Add(string service, AmazonWebServiceRequest request, AmazonWebServiceResponse? response, HttpStatusCode status)
    {
        var name = request.GetType().Name;
        name = name.EndsWith("Request", StringComparison.Ordinal) ? name[..^"Request".Length] : name;
        var (svc, operation, key) = request switch
        {
            GetObjectRequest r => ("S3", "GET", r.Key),
            GetObjectMetadataRequest r => ("S3", "HEAD", r.Key),
            ListObjectsV2Request r => ("S3", "LIST", r.Prefix),
            PutObjectRequest r => ("S3", "PUT", r.Key),
            InitiateMultipartUploadRequest r => ("S3", "PUT", r.Key),
            UploadPartRequest r => ("S3", "PUT", r.Key),
            CompleteMultipartUploadRequest r => ("S3", "PUT", r.Key),
            DeleteObjectRequest r => ("S3", "DELETE", r.Key),
            _ => (service.Contains("DynamoDB", StringComparison.OrdinalIgnoreCase) ? "DynamoDB"
                : service.Contains("SQS", StringComparison.OrdinalIgnoreCase) ? "SQS"
                : service.Contains("S3", StringComparison.Ordinal) ? "S3" : service, name, ""),
        };
        var (rru, wru) = svc == "DynamoDB" && status == HttpStatusCode.OK ? Units(request, response) : (0, 0);
        _calls.Enqueue(new Call(svc, operation, key ?? "", status, rru, wru));
    }

    /// <summary>
    /// On-demand capacity units of a successful request (DynamoDB developer guide, "Read/write capacity mode": a
    /// strongly consistent read unit per 4 KB read, a write unit per 1 KB written, per item; a Query or Scan is
    /// charged on the total size read). Item sizes are estimated as attribute names plus values (UTF-8) — the index's
    /// items are all under 1 KB but a customer version's, so each written item counts one unit and a large version two.
    /// </summary>
    private static (double Read, double Write) Units(AmazonWebServiceRequest request, AmazonWebServiceResponse? response)
    {
        static double Size(Dictionary<string, AttributeValue> item) =>
            item.Sum(a => a.Key.Length + (a.Value.S?.Length ?? 0) + (a.Value.N?.Length ?? 0) + (a.Value.B?.Length ?? 0) + 1);
        static double ReadUnits(IEnumerable<Dictionary<string, AttributeValue>> items) => Math.Max(1, Math.Ceiling(items.Sum(Size) / 4096));
        static double WriteUnits(Dictionary<string, AttributeValue>? item) => item is null ? 1 : Math.Max(1, Math.Ceiling(Size(item) / 1024));
        return (request, response) switch
        {
            (GetItemRequest, _) => (1, 0),
            (BatchGetItemRequest r, _) => (r.RequestItems.Sum(t => t.Value.Keys.Count), 0),
            (QueryRequest, QueryResponse q) => (ReadUnits(q.Items ?? []), 0),
            (ScanRequest, ScanResponse s) => (ReadUnits(s.Items ?? []), 0),
            (PutItemRequest r, _) => (0, WriteUnits(r.Item)),
            (UpdateItemRequest, _) => (0, 1),
            (DeleteItemRequest, _) => (0, 1),
            (BatchWriteItemRequest r, _) => (0, r.RequestItems.Sum(t => t.Value.Sum(w => WriteUnits(w.PutRequest?.Item)))),
            _ => (0, 0),
        };
    }

    /// <summary>Stops recording.</summary>
    public void Dispose()
    {
        foreach (var c in _clients)
        {
            c.AfterResponseEvent -= OnResponse;
            c.ExceptionEvent -= OnException;
        }
    }
}
