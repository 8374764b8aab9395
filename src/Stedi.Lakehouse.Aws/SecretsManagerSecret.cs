using System.Text.Json.Serialization;
using Amazon.Runtime;

namespace Stedi.Lakehouse.Aws;

/// <summary>
/// Reads a secret's string from AWS Secrets Manager (<c>GetSecretValue</c>, <c>X-Amz-Target: secretsmanager.GetSecretValue</c>)
/// through <see cref="AwsJsonClient"/>. It stands in for AWSSDK.SecretsManager, which this build's package source does
/// not serve; swapping the official client in changes this file only (its constructor and
/// <see cref="GetStringAsync"/> keep their shape).
/// </summary>
/// <remarks>
/// The current version (<c>AWSCURRENT</c>) is read; the caller needs <c>secretsmanager:GetSecretValue</c> on the secret
/// (and <c>kms:Decrypt</c> when it is encrypted with a customer managed key). A secret value holds at most 65,536 bytes
/// (Secrets Manager quotas, https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html). API:
/// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html.
/// </remarks>
public sealed class SecretsManagerSecret : IDisposable
{
    private readonly AwsJsonClient _client;

    /// <summary>Creates a reader.</summary>
    /// <param name="region">Region of the secret, e.g. <c>us-east-1</c>.</param>
    /// <param name="credentials">Credentials.</param>
    /// <param name="serviceUrl">Endpoint (moto), or null for <c>https://secretsmanager.&lt;region&gt;.amazonaws.com</c>.</param>
    /// <param name="http">HTTP client (not disposed), or null to create one.</param>
    public SecretsManagerSecret(string region, AWSCredentials credentials, string? serviceUrl = null, HttpClient? http = null) =>
        _client = AwsJsonClient.ForSecretsManager(region, credentials, serviceUrl, http);

    /// <summary>The secret's string (<c>SecretString</c>) of its current version.</summary>
    /// <param name="secretId">The secret's name or ARN.</param>
    /// <param name="ct">Cancellation.</param>
    /// <exception cref="AwsJsonException">Secrets Manager refused, e.g. <c>ResourceNotFoundException</c>, <c>AccessDeniedException</c>,
    /// <c>DecryptionFailure</c>.</exception>
    /// <exception cref="InvalidOperationException">The secret holds binary data only (<c>SecretBinary</c>), not a string.</exception>
    public async Task<string> GetStringAsync(string secretId, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(secretId);
        var r = await _client.CallAsync("GetSecretValue", new GetSecretValueRequest { SecretId = secretId },
            SecretsJsonContext.Default.GetSecretValueRequest, SecretsJsonContext.Default.GetSecretValueResponse, ct).ConfigureAwait(false);
        return r.SecretString ?? throw new InvalidOperationException($"secret {secretId} has no SecretString (binary secrets are not supported)");
    }

    /// <summary>
    /// Creates a secret holding a string (<c>CreateSecret</c>): what the stack's generated customer-key secret is, for
    /// an emulated deployment; returns its ARN.
    /// </summary>
    /// <exception cref="AwsJsonException">Secrets Manager refused, e.g. <c>ResourceExistsException</c>.</exception>
    public async Task<string> CreateAsync(string name, string secretString, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var r = await _client.CallAsync("CreateSecret", new CreateSecretRequest { Name = name, SecretString = secretString },
            SecretsJsonContext.Default.CreateSecretRequest, SecretsJsonContext.Default.CreateSecretResponse, ct).ConfigureAwait(false);
        return r.ARN ?? name;
    }

    /// <inheritdoc />
    public void Dispose() => _client.Dispose();
}

/// <summary>CreateSecret request.</summary>
internal sealed class CreateSecretRequest
{
    public string Name { get; set; } = "";
    public string SecretString { get; set; } = "";
}

/// <summary>CreateSecret response (the fields used).</summary>
internal sealed class CreateSecretResponse
{
    public string? ARN { get; set; }
    public string? Name { get; set; }
}

/// <summary>GetSecretValue request.</summary>
internal sealed class GetSecretValueRequest
{
    public string SecretId { get; set; } = "";
}

/// <summary>The parts of the GetSecretValue response this adapter reads.</summary>
internal sealed class GetSecretValueResponse
{
    public string? Name { get; set; }
    public string? VersionId { get; set; }
    public string? SecretString { get; set; }
}

/// <summary>Source-generated JSON metadata of the Secrets Manager wire shapes.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GetSecretValueRequest))]
[JsonSerializable(typeof(CreateSecretRequest))]
[JsonSerializable(typeof(CreateSecretResponse))]
[JsonSerializable(typeof(GetSecretValueResponse))]
internal sealed partial class SecretsJsonContext : JsonSerializerContext;
