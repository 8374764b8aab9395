using System.Text;
using Stedi.Lakehouse.Index;

namespace Stedi.Lakehouse.Aws.Tests;

/// <summary>The Secrets Manager substitute and the customer-key secret of <see cref="AwsLake"/>, on moto.</summary>
public sealed class SecretsManagerSecretTests(MotoLake moto) : IClassFixture<MotoLake>
{
    /// <summary>Creates a secret with moto's CreateSecret (through the same JSON client, signed).</summary>
    private async Task<string> CreateSecretAsync(string value)
    {
        var name = $"stedi/customer-key/{Guid.NewGuid():N}";
        using var client = AwsJsonClient.ForSecretsManager("us-east-1", AwsLake.EmulatorCredentials, moto.Endpoint);
        using var http = new HttpClient();
        var body = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["Name"] = name, ["SecretString"] = value }));
        using var request = await client.BuildSignedRequestAsync("CreateSecret", body, CancellationToken.None);
        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return name;
    }

    [Fact]
    public async Task The_secret_string_is_read_back()
    {
        var name = await CreateSecretAsync("k3y-of-at-least-16-chars ✓");
        using var secret = new SecretsManagerSecret("us-east-1", AwsLake.EmulatorCredentials, moto.Endpoint);

        Assert.Equal("k3y-of-at-least-16-chars ✓", await secret.GetStringAsync(name));
    }

    [Fact]
    public async Task A_call_that_stalls_past_the_client_timeout_is_retried()
    {
        // HttpClient reports its own timeout as TaskCanceledException (not HttpRequestException): a stalled first call
        // at a cold start was not retried and failed the invocation.
        var name = await CreateSecretAsync("read after one stalled call");
        var stall = new StallFirstRequest();
        using var http = new HttpClient(stall) { Timeout = TimeSpan.FromMilliseconds(500) };
        using var secret = new SecretsManagerSecret("us-east-1", AwsLake.EmulatorCredentials, moto.Endpoint, http);

        Assert.Equal("read after one stalled call", await secret.GetStringAsync(name));
        Assert.Equal(2, stall.Requests);
    }

    [Fact]
    public async Task A_call_the_caller_cancels_is_not_retried()
    {
        var stall = new StallFirstRequest();
        using var http = new HttpClient(stall) { Timeout = TimeSpan.FromSeconds(30) };
        using var secret = new SecretsManagerSecret("us-east-1", AwsLake.EmulatorCredentials, moto.Endpoint, http);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => secret.GetStringAsync("stedi/any", cts.Token));
        Assert.Equal(1, stall.Requests);
    }

    /// <summary>A network that never answers the first request (the connection stalls) and passes the rest to moto.</summary>
    private sealed class StallFirstRequest() : DelegatingHandler(new HttpClientHandler())
    {
        private int _requests;
        public int Requests => Volatile.Read(ref _requests);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _requests) == 1) await Task.Delay(Timeout.Infinite, cancellationToken);
            return await base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task A_missing_secret_is_a_resource_not_found_error()
    {
        using var secret = new SecretsManagerSecret("us-east-1", AwsLake.EmulatorCredentials, moto.Endpoint);

        var e = await Assert.ThrowsAsync<AwsJsonException>(() => secret.GetStringAsync($"stedi/none/{Guid.NewGuid():N}"));
        Assert.Equal("ResourceNotFoundException", e.ErrorCode);
        Assert.Equal("secretsmanager", e.Service);
        Assert.Equal("GetSecretValue", e.Operation);
    }

    [Fact]
    public async Task A_lake_with_a_secret_id_hashes_customer_keys_with_that_secret()
    {
        var name = await CreateSecretAsync("the deployment's customer-key secret");
        var config = moto.Lake.Config with { CustomerKeySecretId = name };

        using var lake = await AwsLake.CreateAsync(config, AwsLake.EmulatorCredentials);
        using var blocking = AwsLake.Create(config, AwsLake.EmulatorCredentials);

        var expected = HmacCustomerKeys.FromText("the deployment's customer-key secret").KeyOf("ann@example.com");
        Assert.Equal(expected, lake.Index.Keys.KeyOf("ann@example.com"));
        Assert.Equal(expected, blocking.Index.Keys.KeyOf("ann@example.com"));
        Assert.Same(lake.Customers, lake.Index.Customers);
        Assert.Same(lake.RefineState, lake.Index.Refine);
    }

    [Fact]
    public void A_lake_without_a_secret_has_no_index_unless_keys_are_given()
    {
        using var without = AwsLake.Create(moto.Lake.Config, AwsLake.EmulatorCredentials);
        var keys = HmacCustomerKeys.FromText("keys passed in by a tool");
        using var with = AwsLake.Create(moto.Lake.Config, AwsLake.EmulatorCredentials, keys);

        Assert.Throws<InvalidOperationException>(() => without.Index);
        Assert.Same(keys, with.Index.Keys);
    }
}
