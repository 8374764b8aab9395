using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Amazon.Runtime;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>The Glue client's SigV4-signed request, checked offline with fixed credentials and clock.</summary>
public sealed partial class GlueSigningTests
{
    private static readonly DateTime At = new(2026, 11, 29, 15, 4, 5, DateTimeKind.Utc);
    private static readonly byte[] Body = "{\"DatabaseName\":\"stedi\",\"Name\":\"customer_trusted\"}"u8.ToArray();

    private static HttpRequestMessage Sign(ImmutableCredentials creds, string? serviceUrl = null)
    {
        using var client = AwsJsonClient.ForGlue("eu-west-1", new BasicAWSCredentials("unused", "unused"), serviceUrl);
        return client.BuildSignedRequest("GetTable", Body, creds, At);
    }

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261129/eu-west-1/glue/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")]
    private static partial Regex AuthorizationShape();

    [Fact]
    public void Authorization_header_has_the_sigv4_shape_for_glue_in_the_region()
    {
        var request = Sign(new ImmutableCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null));

        var auth = string.Join(",", request.Headers.GetValues("Authorization"));
        var m = AuthorizationShape().Match(auth);
        Assert.True(m.Success, auth);
        var signed = m.Groups[1].Value.Split(';');
        Assert.Contains("host", signed);
        Assert.Contains("x-amz-date", signed);
        Assert.Contains("x-amz-target", signed);
        Assert.Contains("content-type", signed);
        Assert.DoesNotContain("x-amz-security-token", signed);
        Assert.False(request.Headers.Contains("X-Amz-Security-Token"));
        Assert.Equal("AWSGlue.GetTable", request.Headers.GetValues("X-Amz-Target").Single());
        Assert.Equal("20261129T150405Z", request.Headers.GetValues("X-Amz-Date").Single());
        Assert.Equal("application/x-amz-json-1.1", request.Content!.Headers.ContentType!.ToString());
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal(new Uri("https://glue.eu-west-1.amazonaws.com/"), request.RequestUri);
    }

    [Fact]
    public void A_session_token_is_sent_and_signed()
    {
        var request = Sign(new ImmutableCredentials("AKIDEXAMPLE", "secret", "FwoGZXIvYXdzEXAMPLETOKEN=="));

        Assert.Equal("FwoGZXIvYXdzEXAMPLETOKEN==", request.Headers.GetValues("X-Amz-Security-Token").Single());
        var m = AuthorizationShape().Match(request.Headers.GetValues("Authorization").Single());
        Assert.True(m.Success);
        Assert.Contains("x-amz-security-token", m.Groups[1].Value.Split(';'));
    }

    [Fact]
    public async Task Signature_equals_an_independent_sigv4_computation()
    {
        var creds = new ImmutableCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "TOKEN");
        var request = Sign(creds, "http://127.0.0.1:5000");
        var m = AuthorizationShape().Match(request.Headers.GetValues("Authorization").Single());
        var signedHeaders = m.Groups[1].Value.Split(';');

        string HeaderValue(string name) => name switch
        {
            "host" => request.Headers.Host ?? request.RequestUri!.Authority,
            "content-type" => request.Content!.Headers.ContentType!.ToString(),
            "content-length" => Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => string.Join(",", request.Headers.GetValues(name)),
        };
        var payloadHash = Hex(SHA256.HashData(await request.Content!.ReadAsByteArrayAsync()));
        var canonical = string.Join("\n",
            "POST", "/", "",
            string.Concat(signedHeaders.Select(h => $"{h}:{HeaderValue(h).Trim()}\n")),
            string.Join(";", signedHeaders), payloadHash);
        var scope = "20261129/eu-west-1/glue/aws4_request";
        var toSign = $"AWS4-HMAC-SHA256\n20261129T150405Z\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))}";
        var key = Encoding.UTF8.GetBytes("AWS4" + creds.SecretKey);
        foreach (var part in new[] { "20261129", "eu-west-1", "glue", "aws4_request" }) key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(part));

        Assert.Equal(Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(toSign))), m.Groups[2].Value);
        Assert.Equal("127.0.0.1:5000", HeaderValue("host"));
    }

    private static string Hex(byte[] b) => Convert.ToHexStringLower(b);
}
