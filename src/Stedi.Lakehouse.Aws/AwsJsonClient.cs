using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// A minimal client of one AWS service's JSON protocol (<c>awsJson1_0</c> / <c>awsJson1_1</c>: POST <c>/</c> with
/// <c>X-Amz-Target: &lt;prefix&gt;.&lt;Operation&gt;</c> and <c>Content-Type: application/x-amz-json-1.x</c>), signed with
/// AWSSDK.Core's SigV4 signer (<see cref="AWS4Signer"/>). It stands in for service packages this build cannot reach
/// (AWSSDK.Glue, AWSSDK.SecretsManager; docs/ARCHITECTURE.md §9): <see cref="ForGlue"/> serves <see cref="GlueCatalog"/>,
/// <see cref="ForSecretsManager"/> serves <see cref="SecretsManagerSecret"/>. Replacing a service with its official
/// package changes that service's one adapter file, not this one.
/// </summary>
/// <remarks>
/// Retries <c>ThrottlingException</c>, <c>ConcurrentModificationException</c>, 5xx and transport errors with exponential
/// backoff (up to <see cref="MaxAttempts"/> attempts). Sources: "Signature Version 4 signing process"
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html); the JSON protocol as the Glue API
/// (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api.html) and the Secrets Manager API
/// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/Welcome.html) describe it.
/// </remarks>
public sealed class AwsJsonClient : IDisposable
{
    /// <summary>Attempts per call, the first included.</summary>
    public const int MaxAttempts = 6;

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly AWSCredentials _credentials;
    private readonly SigningConfig _config;
    private readonly Func<DateTime> _utcNow;
    private readonly string _contentType;

    /// <summary>Creates a client of one service.</summary>
    /// <param name="service">SigV4 signing name and endpoint prefix, e.g. <c>glue</c>, <c>secretsmanager</c>.</param>
    /// <param name="targetPrefix">Prefix of <c>X-Amz-Target</c>, e.g. <c>AWSGlue</c>, <c>secretsmanager</c>.</param>
    /// <param name="jsonVersion">Protocol version in the content type: <c>1.0</c> or <c>1.1</c>.</param>
    /// <param name="region">Signing region, e.g. <c>us-east-1</c>.</param>
    /// <param name="credentials">Credentials (a session token is sent as <c>X-Amz-Security-Token</c>).</param>
    /// <param name="serviceUrl">Endpoint, e.g. moto's <c>http://127.0.0.1:5000</c>; null means <c>https://&lt;service&gt;.&lt;region&gt;.amazonaws.com</c>.</param>
    /// <param name="http">HTTP client to use (not disposed by this client); null creates one.</param>
    /// <param name="utcNow">Clock for the signature time (tests); null means <see cref="DateTime.UtcNow"/>.</param>
    public AwsJsonClient(string service, string targetPrefix, string jsonVersion, string region, AWSCredentials credentials,
        string? serviceUrl = null, HttpClient? http = null, Func<DateTime>? utcNow = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentException.ThrowIfNullOrEmpty(targetPrefix);
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentNullException.ThrowIfNull(credentials);
        if (jsonVersion is not ("1.0" or "1.1")) throw new ArgumentException("the JSON protocol version is 1.0 or 1.1", nameof(jsonVersion));
        Service = service;
        TargetPrefix = targetPrefix;
        Region = region;
        Endpoint = new Uri(string.IsNullOrEmpty(serviceUrl) ? $"https://{service}.{region}.amazonaws.com/" : serviceUrl);
        _contentType = $"application/x-amz-json-{jsonVersion}";
        _credentials = credentials;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        _utcNow = utcNow ?? (() => DateTime.UtcNow);
        _config = new SigningConfig(service, region);
    }

    /// <summary>A client of the Glue Data Catalog (<c>glue</c>, <c>AWSGlue.*</c>, JSON 1.1).</summary>
    public static AwsJsonClient ForGlue(string region, AWSCredentials credentials, string? serviceUrl = null, HttpClient? http = null, Func<DateTime>? utcNow = null) =>
        new("glue", "AWSGlue", "1.1", region, credentials, serviceUrl, http, utcNow);

    /// <summary>A client of Secrets Manager (<c>secretsmanager</c>, <c>secretsmanager.*</c>, JSON 1.1).</summary>
    public static AwsJsonClient ForSecretsManager(string region, AWSCredentials credentials, string? serviceUrl = null, HttpClient? http = null, Func<DateTime>? utcNow = null) =>
        new("secretsmanager", "secretsmanager", "1.1", region, credentials, serviceUrl, http, utcNow);

    /// <summary>The signing name, e.g. <c>glue</c>.</summary>
    public string Service { get; }

    /// <summary>The <c>X-Amz-Target</c> prefix, e.g. <c>AWSGlue</c>.</summary>
    public string TargetPrefix { get; }

    /// <summary>The signing region.</summary>
    public string Region { get; }

    /// <summary>The endpoint requests are posted to.</summary>
    public Uri Endpoint { get; }

    /// <summary>Calls one operation and returns its decoded response.</summary>
    /// <param name="operation">Operation name, e.g. <c>GetTable</c>.</param>
    /// <param name="request">Request body.</param>
    /// <param name="requestType">Source-generated metadata of the request.</param>
    /// <param name="responseType">Source-generated metadata of the response.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="AwsJsonException">The service answered an error (after retries for throttling and 5xx).</exception>
    internal async Task<TResponse> CallAsync<TRequest, TResponse>(string operation, TRequest request,
        JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, requestType);
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                using var message = await BuildSignedRequestAsync(operation, body, ct).ConfigureAwait(false);
                response = await _http.SendAsync(message, ct).ConfigureAwait(false);
            }
            // A connection failure, or the client's own timeout (HttpClient throws TaskCanceledException when its
            // Timeout elapses, not when the caller cancels): both are retried, so a stalled call at a cold start does
            // not fail the invocation.
            catch (Exception e) when (attempt < MaxAttempts && !ct.IsCancellationRequested
                                      && e is HttpRequestException or TaskCanceledException)
            {
                await Task.Delay(Backoff.Delay(attempt), ct).ConfigureAwait(false);
                continue;
            }
            using (response)
            {
                var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                    return JsonSerializer.Deserialize(bytes.Length == 0 ? "{}"u8 : bytes, responseType)!;
                var error = AwsJsonException.From(Service, operation, response.StatusCode, bytes);
                var retriable = error.ErrorCode is "ThrottlingException" or "ConcurrentModificationException"
                    || (int)response.StatusCode >= 500;
                if (!retriable || attempt >= MaxAttempts) throw error;
            }
            await Task.Delay(Backoff.Delay(attempt), ct).ConfigureAwait(false);
        }
    }

    /// <summary>Builds the signed HTTP request of one operation (exposed for the signature test).</summary>
    internal async Task<HttpRequestMessage> BuildSignedRequestAsync(string operation, byte[] body, CancellationToken ct)
    {
        var creds = await _credentials.GetCredentialsAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        return BuildSignedRequest(operation, body, creds, _utcNow());
    }

    /// <summary>Signs with explicit credentials and time: the deterministic core of <see cref="BuildSignedRequestAsync"/>.</summary>
    internal HttpRequestMessage BuildSignedRequest(string operation, byte[] body, ImmutableCredentials creds, DateTime signedAtUtc)
    {
        var request = new DefaultRequest(new PlaceholderRequest(), Service)
        {
            HttpMethod = "POST",
            Endpoint = new Uri(Endpoint.GetLeftPart(UriPartial.Authority)),
            ResourcePath = "/",
            Content = body,
            AuthenticationRegion = Region,
            OverrideSigningServiceName = Service,
        };
        request.Headers["Content-Type"] = _contentType;
        request.Headers["X-Amz-Target"] = $"{TargetPrefix}.{operation}";
        if (creds.UseToken) request.Headers["X-Amz-Security-Token"] = creds.Token;

        var signer = new AWS4Signer();
        var result = signer.SignRequest(request, _config, null, creds.AccessKey, creds.SecretKey, signedAtUtc);
        request.Headers["Authorization"] = result.ForAuthorizationHeader;

        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(request.Endpoint, "/"))
        {
            Content = new ByteArrayContent(body),
        };
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(value);
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                continue;
            else if (name.Equals("Host", StringComparison.OrdinalIgnoreCase))
                message.Headers.Host = value;
            else
                message.Headers.TryAddWithoutValidation(name, value);
        }
        return message;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }

    /// <summary>The client configuration the signer reads (service name, region).</summary>
    private sealed class SigningConfig : ClientConfig
    {
        private readonly string _service;

        public SigningConfig(string service, string region)
            : base(new DefaultConfigurationProvider([new DefaultConfiguration { Name = DefaultConfigurationMode.Standard, RetryMode = RequestRetryMode.Standard }]))
        {
            _service = service;
            AuthenticationRegion = region;
            AuthenticationServiceName = service;
        }

        public override string RegionEndpointServiceName => _service;
        public override string ServiceVersion => "json";
        public override string UserAgent => "stedi-aws-json";

        public override Amazon.Runtime.Endpoints.Endpoint DetermineServiceOperationEndpoint(Amazon.Runtime.Endpoints.ServiceOperationEndpointParameters parameters) =>
            throw new NotSupportedException("the AWS JSON client resolves its endpoint itself");
    }

    /// <summary>Placeholder original request that <see cref="DefaultRequest"/> requires.</summary>
    private sealed class PlaceholderRequest : AmazonWebServiceRequest;
}

/// <summary>An error answered by an AWS JSON-protocol API.</summary>
/// <param name="service">Signing name of the service, e.g. <c>glue</c>.</param>
/// <param name="operation">Operation that failed.</param>
/// <param name="statusCode">HTTP status.</param>
/// <param name="errorCode">Error type without namespace, e.g. <c>EntityNotFoundException</c>, <c>ResourceNotFoundException</c>.</param>
/// <param name="message">The service's message.</param>
public sealed class AwsJsonException(string service, string operation, HttpStatusCode statusCode, string errorCode, string message)
    : Exception($"{service} {operation} failed: {errorCode} ({(int)statusCode}): {message}")
{
    /// <summary>Signing name of the service, e.g. <c>glue</c>, <c>secretsmanager</c>.</summary>
    public string Service { get; } = service;

    /// <summary>Operation that failed, e.g. <c>CreateTable</c>.</summary>
    public string Operation { get; } = operation;

    /// <summary>HTTP status code.</summary>
    public HttpStatusCode StatusCode { get; } = statusCode;

    /// <summary>Error type, e.g. <c>EntityNotFoundException</c>, <c>AlreadyExistsException</c>, <c>ThrottlingException</c>.</summary>
    public string ErrorCode { get; } = errorCode;

    /// <summary>Reads the JSON protocol's error body: <c>__type</c> (possibly namespaced, <c>ns#Type</c>, or with a
    /// <c>:</c> suffix) and <c>Message</c> / <c>message</c>.</summary>
    internal static AwsJsonException From(string service, string operation, HttpStatusCode status, byte[] body)
    {
        string type = "Unknown", message = "";
        try
        {
            using var doc = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (doc.RootElement.TryGetProperty("__type", out var t) && t.ValueKind == JsonValueKind.String) type = t.GetString()!;
                if (doc.RootElement.TryGetProperty("Message", out var m) && m.ValueKind == JsonValueKind.String) message = m.GetString()!;
                else if (doc.RootElement.TryGetProperty("message", out var m2) && m2.ValueKind == JsonValueKind.String) message = m2.GetString()!;
            }
        }
        catch (JsonException)
        {
            message = System.Text.Encoding.UTF8.GetString(body);
        }
        var hash = type.LastIndexOf('#');
        if (hash >= 0) type = type[(hash + 1)..];
        var colon = type.IndexOf(':');
        if (colon >= 0) type = type[..colon];
        return new AwsJsonException(service, operation, status, type, message);
    }
}
