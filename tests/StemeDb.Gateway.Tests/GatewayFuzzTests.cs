using System.Net;
using System.Text;
using System.Text.Json;
using StemeDb.Node.Tests;
using StemeDb.Testing.Fuzzing;
using Xunit.Abstractions;

namespace StemeDb.Gateway.Tests;

/// <summary>
/// 20 000 generated requests to the public API of a gateway in front of three real nodes (random and
/// mutated JSON, damaged encodings, every method, odd paths and percent-encodings, query values, headers,
/// content types, sizes up to past the limit): no 5xx, a problem body for every 4xx, 401 without an API
/// key, and afterwards the cluster still takes and reads writes through the gateway.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class GatewayFuzzTests(ITestOutputHelper output)
{
    private const int Requests = 20_000;
    private const string ApiKey = "fuzzing-key-0123456789abcdef";

    private static readonly FuzzExpectation Unauthorized = new("401: no or a wrong API key", s => s == 401);

    private static readonly string[] ContentTypes =
    [
        "application/json", "application/json", "application/json", "application/json; charset=utf-8", "application/json; charset=latin1",
        "application/problem+json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/*", "application/json;;;",
    ];

    private static readonly string[] Headers = ["Accept", "Accept-Encoding", "Accept-Language", "Last-Event-ID", "Origin", "Referer", "traceparent", "tracestate", "X-Forwarded-For", "X-Forwarded-Host", "Content-Encoding", "Range", "If-None-Match", "dapr-api-token", "X-StemeDb-Cluster-Token", "X-StemeDb-Hlc"];

    [Fact]
    public async Task Twenty_thousand_generated_requests_break_nothing()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3);
        await cluster.WaitJoinedAsync();
        await using GatewayHost gateway = await GatewayHost.StartAsync(cluster.Urls, new() { ["Gateway:ApiKeys:0"] = ApiKey });
        gateway.Http.DefaultRequestHeaders.Add(GatewayApp.ApiKeyHeader, ApiKey);
        await gateway.WaitReadyAsync();

        int seed = HttpFuzzer.Seed();
        HttpFuzzer.Report report = await new HttpFuzzer(gateway.Url).RunAsync(i => Generate(new Random(unchecked((seed * 100_003) + i))), Requests, TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(20));
        output.WriteLine(report.Describe(seed));
        Assert.True(report.Findings.Count == 0, report.Describe(seed));
        Assert.True(report.Sent == Requests, $"only {report.Sent} of {Requests} requests in the time allowed: {report}");
        Assert.True(report.ByStatus.GetValueOrDefault(200) > 1000, $"too few requests got through to be a test of the write and read paths: {report}");

        // The cluster still serves through the gateway.
        using HttpResponseMessage written = await gateway.Http.PostAsync("/v1/assertions", new StringContent("{\"subject\":\"after:fuzz\",\"predicate\":\"ok\",\"object\":true}", Encoding.UTF8, "application/json"));
        Assert.True(written.IsSuccessStatusCode, await written.Content.ReadAsStringAsync());
        Assert.Single(JsonDocument.Parse(await gateway.Http.GetStringAsync("/v1/assertions?subject=after%3Afuzz")).RootElement.EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, (await gateway.Http.GetAsync("/readyz")).StatusCode);
    }

    private static FuzzRequest Generate(Random random)
    {
        var json = new JsonFuzz(random);
        var headers = new List<KeyValuePair<string, string>>();
        FuzzExpectation? expected = null;
        int key = random.Next(10);
        if (key < 8)
        {
            headers.Add(new(GatewayApp.ApiKeyHeader, ApiKey));
        }
        else
        {
            if (key == 8)
            {
                headers.Add(new(GatewayApp.ApiKeyHeader, random.Next(2) == 0 ? ApiKey[..^1] : HttpFuzzer.HeaderSafe(json.String())));
            }

            expected = Unauthorized;
        }

        for (int h = random.Next(0, 3); h > 0; h--)
        {
            headers.Add(new(Headers[random.Next(Headers.Length)], HttpFuzzer.HeaderSafe(random.Next(2) == 0 ? json.String() : json.Number())));
        }

        string subject = json.String();
        string? predicate = random.Next(3) == 0 ? json.String() : null;
        string id = random.Next(3) switch { 0 => Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), 1 => json.String(), _ => new string('a', 64) };
        string method;
        string path;
        byte[]? body = null;
        string? contentType = null;
        switch (random.Next(12))
        {
            case < 4: // writes: valid, batched, mutated, damaged, oversized
                method = "POST";
                path = "/v1/assertions";
                string valid = random.Next(3) == 0 ? "{\"assertions\":[" + string.Join(",", Enumerable.Range(0, random.Next(1, 6)).Select(_ => Assertion(json))) + "]}" : Assertion(json);
                body = random.Next(5) switch
                {
                    0 or 1 => Encoding.UTF8.GetBytes(valid),
                    2 => Encoding.UTF8.GetBytes(json.Mutate(valid)),
                    3 => json.Damage(valid, alwaysInvalid: false),
                    _ => Encoding.UTF8.GetBytes(json.Value()),
                };
                contentType = ContentTypes[random.Next(ContentTypes.Length)];
                break;
            case < 7: // reads in both forms
                method = random.Next(8) == 0 ? "HEAD" : "GET";
                path = random.Next(2) == 0
                    ? $"/v1/subjects/{Segment(random, subject)}/assertions"
                    : "/v1/assertions?" + Query(random, json, subject);
                if (random.Next(2) == 0)
                {
                    path += (path.Contains('?', StringComparison.Ordinal) ? "&" : "?") + (predicate is null ? "" : $"predicate={Uri.EscapeDataString(predicate)}&") + $"history={(random.Next(3) == 0 ? Uri.EscapeDataString(json.String()) : random.Next(2) == 0 ? "true" : "false")}";
                }

                break;
            case < 9: // retractions in both forms
                method = "DELETE";
                path = random.Next(2) == 0
                    ? $"/v1/subjects/{Segment(random, subject)}/assertions/{Segment(random, id)}"
                    : $"/v1/assertions/{Segment(random, id)}?" + Query(random, json, subject);
                break;
            case 9: // cluster views, health, OpenAPI
                method = random.Next(6) == 0 ? "POST" : "GET";
                path = new[] { "/v1/cluster/members", "/v1/cluster/ranges", "/healthz", "/readyz", "/openapi/v1.json", "/v1/cluster", "/v1/cluster/members?x=" + Uri.EscapeDataString(json.String()) }[random.Next(7)];
                break;
            default: // anything else: other methods, odd paths, internal routes through the gateway
                method = new[] { "PUT", "PATCH", "OPTIONS", "TRACE", "FUZZ", "GET", "POST", "DELETE" }[random.Next(8)];
                path = new[]
                {
                    "/", "/v1", "/v1/", "//v1//assertions", "/v1/assertions/", "/v1/subjects", "/v1/subjects//assertions", "/v1/%2e%2e/internal/v1/members",
                    "/internal/v1/meta-range", "/events/membership", "/dapr/subscribe", "/v1/" + Segment(random, json.String()), "/" + Segment(random, json.String()),
                    "/v1/assertions?subject=%ZZ", "/v1/assertions?subject=%", "/v1/assertions?subject=%C3%28", "/v1/assertions?subject=a&subject=b",
                }[random.Next(17)];
                if (method is "POST" or "PUT" or "PATCH" or "DELETE" && random.Next(2) == 0)
                {
                    body = random.Next(2) == 0 ? Encoding.UTF8.GetBytes(json.Value()) : json.Damage(json.Value(), alwaysInvalid: false);
                    contentType = ContentTypes[random.Next(ContentTypes.Length)];
                }

                if (method == "OPTIONS")
                {
                    headers.Add(new("Origin", random.Next(2) == 0 ? GatewayHost.AllowedOrigin : "https://evil.example"));
                    headers.Add(new("Access-Control-Request-Method", "POST"));
                    expected = null; // a preflight carries no key
                }

                if (method == "TRACE" || !path.StartsWith("/v1", StringComparison.Ordinal))
                {
                    expected = null; // outside the API key's reach, or refused by the server before it
                }

                break;
        }

        // As the client sends it: .NET resolves "%2e%2e" segments before the request leaves, so
        // /v1/%2e%2e/internal arrives as /internal, outside the API key's reach.
        if (!new Uri("http://gateway" + path).AbsolutePath.StartsWith("/v1", StringComparison.Ordinal))
        {
            expected = null;
        }

        if (random.Next(300) == 0)
        {
            method = "POST";
            path = "/v1/assertions";
            contentType = "application/json";
            body = Encoding.UTF8.GetBytes("{\"assertions\":[" + string.Join(",", Enumerable.Repeat("{\"subject\":\"s\",\"predicate\":\"p\",\"object\":\"" + new string('x', 4000) + "\"}", 1100)) + "]}");
        }

        return new FuzzRequest(method, path, headers, body, contentType, expected);
    }

    private static string Assertion(JsonFuzz json)
    {
        Random random = json.Random;
        var fields = new List<string>
        {
            "\"subject\":" + JsonSerializer.Serialize(random.Next(3) == 0 ? json.String() : $"user:{random.Next(1000)}"),
            "\"predicate\":" + JsonSerializer.Serialize(random.Next(3) == 0 ? json.String() : "name"),
            "\"object\":" + json.Value(),
        };
        if (random.Next(3) == 0)
        {
            fields.Add("\"source\":" + JsonSerializer.Serialize(json.String()));
        }

        if (random.Next(3) == 0)
        {
            fields.Add("\"confidence\":" + json.Number());
        }

        return "{" + string.Join(",", fields) + "}";
    }

    // A path segment: percent-encoded, raw (as a careless client sends it) or with odd escapes; never a NUL,
    // which Kestrel refuses while it parses the request line (400 with no body, before the app sees it).
    private static string Segment(Random random, string text) => random.Next(4) switch
    {
        0 => new string([.. text.Where(c => c is > ' ' and < '\u007f' and not '?' and not '#' and not '%' and not '/')]) is { Length: > 0 } raw ? raw : "x",
        1 => "%" + random.Next(0, 256).ToString("X2", System.Globalization.CultureInfo.InvariantCulture).Replace("00", "01", StringComparison.Ordinal) + "%ZZ",
        _ => NodeFuzzTests.PathSegment(text),
    };

    private static string Query(Random random, JsonFuzz json, string subject) => random.Next(5) switch
    {
        0 => "",
        1 => "subject=" + subject.Replace("&", "", StringComparison.Ordinal).Replace("#", "", StringComparison.Ordinal),
        2 => "subject=" + Uri.EscapeDataString(subject) + "&subject=" + Uri.EscapeDataString(json.String()),
        _ => "subject=" + Uri.EscapeDataString(subject),
    };
}
