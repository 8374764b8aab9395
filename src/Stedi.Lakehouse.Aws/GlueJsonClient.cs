using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// A minimal client of the AWS Glue Data Catalog JSON API (protocol <c>awsJson1_1</c>: POST <c>/</c> with
/// <c>X-Amz-Target: AWSGlue.&lt;Operation&gt;</c> and <c>Content-Type: application/x-amz-json-1.1</c>), signed with
/// AWSSDK.Core's SigV4 signer (<see cref="AWS4Signer"/>). It stands in for AWSSDK.Glue, which this build cannot
/// reach (DESIGN.md §6); replacing it with the official client is a change to this file and <see cref="GlueCatalog"/>.
/// </summary>
/// <remarks>
/// Retries ThrottlingException, 5xx and transport errors with exponential backoff (up to <see cref="MaxAttempts"/>
/// attempts). Sources: AWS Glue API reference (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api.html) and
/// "Signature Version 4 signing process" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html).
/// </remarks>
public sealed class GlueJsonClient : IDisposable
{
    /// <summary>Attempts per call, the first included.</summary>
    public const int MaxAttempts = 6;

    private const string ContentType = "application/x-amz-json-1.1";
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly AWSCredentials _credentials;
    private readonly GlueSigningConfig _config;
    private readonly Func<DateTime> _utcNow;

    /// <summary>Creates a client.</summary>
    /// <param name="region">Signing region, e.g. <c>us-east-1</c>.</param>
    /// <param name="credentials">Credentials (a session token is sent as <c>X-Amz-Security-Token</c>).</param>
    /// <param name="serviceUrl">Endpoint, e.g. moto's <c>http://127.0.0.1:5000</c>; null means <c>https://glue.&lt;region&gt;.amazonaws.com</c>.</param>
    /// <param name="http">HTTP client to use (not disposed by this client); null creates one.</param>
    /// <param name="utcNow">Clock for the signature time (tests); null means <see cref="DateTime.UtcNow"/>.</param>
    public GlueJsonClient(string region, AWSCredentials credentials, string? serviceUrl = null, HttpClient? http = null, Func<DateTime>? utcNow = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentNullException.ThrowIfNull(credentials);
        Region = region;
        Endpoint = new Uri(string.IsNullOrEmpty(serviceUrl) ? $"https://glue.{region}.amazonaws.com/" : serviceUrl);
        _credentials = credentials;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        _utcNow = utcNow ?? (() => DateTime.UtcNow);
        _config = new GlueSigningConfig(region);
    }

    /// <summary>The signing region.</summary>
    public string Region { get; }

    /// <summary>The endpoint requests are posted to.</summary>
    public Uri Endpoint { get; }

    /// <summary>Calls one Glue operation and returns its decoded response.</summary>
    /// <param name="operation">Operation name, e.g. <c>GetTable</c>.</param>
    /// <param name="request">Request body.</param>
    /// <param name="requestType">Source-generated metadata of the request.</param>
    /// <param name="responseType">Source-generated metadata of the response.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="GlueException">Glue answered an error (after retries for throttling and 5xx).</exception>
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
            catch (HttpRequestException) when (attempt < MaxAttempts)
            {
                await Task.Delay(Backoff.Delay(attempt), ct).ConfigureAwait(false);
                continue;
            }
            using (response)
            {
                var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                    return JsonSerializer.Deserialize(bytes.Length == 0 ? "{}"u8 : bytes, responseType)!;
                var error = GlueException.From(operation, response.StatusCode, bytes);
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
        var request = new DefaultRequest(new GlueSigningRequest(), "Glue")
        {
            HttpMethod = "POST",
            Endpoint = new Uri(Endpoint.GetLeftPart(UriPartial.Authority)),
            ResourcePath = "/",
            Content = body,
            AuthenticationRegion = Region,
            OverrideSigningServiceName = "glue",
        };
        request.Headers["Content-Type"] = ContentType;
        request.Headers["X-Amz-Target"] = $"AWSGlue.{operation}";
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

    /// <summary>The client configuration the signer reads (service name <c>glue</c>, region).</summary>
    private sealed class GlueSigningConfig : ClientConfig
    {
        public GlueSigningConfig(string region)
            : base(new DefaultConfigurationProvider([new DefaultConfiguration { Name = DefaultConfigurationMode.Standard, RetryMode = RequestRetryMode.Standard }]))
        {
            AuthenticationRegion = region;
            AuthenticationServiceName = "glue";
        }

        public override string RegionEndpointServiceName => "glue";
        public override string ServiceVersion => "2017-03-31";
        public override string UserAgent => "stedi-glue-json";

        public override Amazon.Runtime.Endpoints.Endpoint DetermineServiceOperationEndpoint(Amazon.Runtime.Endpoints.ServiceOperationEndpointParameters parameters) =>
            throw new NotSupportedException("the Glue JSON client resolves its endpoint itself");
    }

    /// <summary>Placeholder original request that <see cref="DefaultRequest"/> requires.</summary>
    private sealed class GlueSigningRequest : AmazonWebServiceRequest;
}

/// <summary>An error answered by the Glue API.</summary>
/// <param name="operation">Operation that failed.</param>
/// <param name="statusCode">HTTP status.</param>
/// <param name="errorCode">Glue error type without namespace, e.g. <c>EntityNotFoundException</c>.</param>
/// <param name="message">Glue's message.</param>
public sealed class GlueException(string operation, HttpStatusCode statusCode, string errorCode, string message)
    : Exception($"Glue {operation} failed: {errorCode} ({(int)statusCode}): {message}")
{
    /// <summary>Operation that failed, e.g. <c>CreateTable</c>.</summary>
    public string Operation { get; } = operation;

    /// <summary>HTTP status code.</summary>
    public HttpStatusCode StatusCode { get; } = statusCode;

    /// <summary>Glue error type, e.g. <c>EntityNotFoundException</c>, <c>AlreadyExistsException</c>, <c>ThrottlingException</c>.</summary>
    public string ErrorCode { get; } = errorCode;

    internal static GlueException From(string operation, HttpStatusCode status, byte[] body)
    {
        string type = "Unknown", message = "";
        try
        {
            var e = JsonSerializer.Deserialize(body, GlueJsonContext.Default.GlueError);
            type = e?.Type ?? type;
            message = e?.Message ?? e?.MessageLower ?? "";
        }
        catch (JsonException)
        {
            message = System.Text.Encoding.UTF8.GetString(body);
        }
        // "__type" may be namespaced: "com.amazonaws.glue#EntityNotFoundException" or with a ":" suffix.
        var hash = type.LastIndexOf('#');
        if (hash >= 0) type = type[(hash + 1)..];
        var colon = type.IndexOf(':');
        if (colon >= 0) type = type[..colon];
        return new GlueException(operation, status, type, message);
    }
}

/// <summary>Error body of the JSON protocol.</summary>
internal sealed class GlueError
{
    [JsonPropertyName("__type")] public string? Type { get; set; }
    [JsonPropertyName("Message")] public string? Message { get; set; }
    [JsonPropertyName("message")] public string? MessageLower { get; set; }
}
