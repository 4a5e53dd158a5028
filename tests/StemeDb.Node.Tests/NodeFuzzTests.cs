using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Testing.Fuzzing;
using Xunit.Abstractions;

namespace StemeDb.Node.Tests;

/// <summary>
/// 20 000 generated requests to a node's internal API (random and mutated JSON, methods, paths, query
/// values, headers, content types, sizes, damaged encodings): no 5xx, a problem body for every 4xx, every
/// call without the cluster token refused with 401, every damaged body to a route that changes the range
/// table or consensus state refused, and afterwards the table is as it was and the cluster still serves.
/// </summary>
[Collection(LoopbackClusters.Name)]
public sealed class NodeFuzzTests(ITestOutputHelper output)
{
    private const int Requests = 20_000;
    private const string Token = "ZnV6emluZyB0aGUgaW50ZXJuYWwgQVBJIG9mIGEgbm9kZQ==";

    private static readonly string[] SafeRoutes = [InternalRoutes.Write, InternalRoutes.Query, InternalRoutes.Retract, InternalRoutes.LocalRead, InternalRoutes.ReplicaRead, InternalRoutes.Batch];

    // A valid body here changes what the cluster is (range table, promises, imported or replicated records):
    // only damaged ones are sent, and each must be refused.
    private static readonly string[] GuardedRoutes = [InternalRoutes.MetaRange, InternalRoutes.Prepare, InternalRoutes.Accept, InternalRoutes.RangeImport, InternalRoutes.Replicate];

    private static readonly string[] GetRoutes = [InternalRoutes.MetaRange, InternalRoutes.Members, InternalRoutes.RangeSizes, InternalRoutes.Load, InternalRoutes.RangeExport, InternalRoutes.RangeDigests, "/healthz", "/readyz"];

    private static readonly FuzzExpectation Unauthorized = new("401: no or a wrong cluster token", s => s == 401);
    private static readonly FuzzExpectation Refused = new("a 4xx: a damaged body to a guarded route", s => s is >= 400 and < 500);

    [Fact]
    public async Task Twenty_thousand_generated_requests_break_nothing()
    {
        await using NodeCluster cluster = await NodeCluster.StartAsync(3, new() { ["Node:ClusterToken"] = Token });
        await cluster.WaitJoinedAsync();
        using var member = new HttpClient { BaseAddress = cluster.Urls[0], Timeout = TimeSpan.FromSeconds(10), DefaultRequestHeaders = { { InternalHeaderNames.ClusterToken, Token } } };
        using HttpResponseMessage snapshot = await member.GetAsync(InternalRoutes.MetaRange);
        string clusterId = snapshot.Headers.GetValues(InternalHeaderNames.Cluster).Single();
        string tableBefore = await snapshot.Content.ReadAsStringAsync();
        MetaRangeDto before = JsonSerializer.Deserialize<MetaRangeDto>(tableBefore, JsonSerializerOptions.Web)!;

        int seed = HttpFuzzer.Seed();
        HttpFuzzer.Report report = await new HttpFuzzer(cluster.Urls[0]).RunAsync(i => Generate(new Random(unchecked((seed * 100_003) + i)), clusterId, tableBefore), Requests, TimeSpan.FromMinutes(4), TimeSpan.FromSeconds(15));
        output.WriteLine(report.Describe(seed));
        Assert.True(report.Findings.Count == 0, report.Describe(seed));
        Assert.True(report.Sent == Requests, $"only {report.Sent} of {Requests} requests in the time allowed: {report}");

        // Nothing the fuzzer sent changed the range table, and the cluster still takes and reads writes.
        MetaRangeDto after = (await member.GetFromJsonAsync<MetaRangeDto>(InternalRoutes.MetaRange))!;
        Assert.Equal(before.Descriptors.Select(d => (d.Id, d.Generation, string.Join(",", d.Replicas))), after.Descriptors.Select(d => (d.Id, d.Generation, string.Join(",", d.Replicas))));
        using HttpResponseMessage written = await member.PostAsJsonAsync(InternalRoutes.Write, new WriteRequest([new AssertionInput("after:fuzz", "ok", JsonDocument.Parse("true").RootElement, null, null)]));
        Assert.True(written.IsSuccessStatusCode, await written.Content.ReadAsStringAsync());
        List<AssertionDto> read = (await (await member.PostAsJsonAsync(InternalRoutes.Query, new QueryRequest("after:fuzz", null, false))).Content.ReadFromJsonAsync<List<AssertionDto>>())!;
        Assert.Single(read);
        foreach (Uri node in cluster.Urls)
        {
            Assert.Equal(HttpStatusCode.OK, (await member.GetAsync(new Uri(node, "/readyz"))).StatusCode);
        }
    }

    private static FuzzRequest Generate(Random random, string clusterId, string table)
    {
        var json = new JsonFuzz(random);
        var headers = new List<KeyValuePair<string, string>>();
        bool authenticated = random.Next(4) > 0;
        if (authenticated)
        {
            headers.Add(new(InternalHeaderNames.ClusterToken, Token));
        }
        else if (random.Next(2) == 0)
        {
            headers.Add(new(InternalHeaderNames.ClusterToken, random.Next(3) switch { 0 => "", 1 => Token[..^1], _ => HttpFuzzer.HeaderSafe(json.String()) }));
        }

        if (random.Next(10) < 7)
        {
            headers.Add(new(InternalHeaderNames.Cluster, random.Next(8) == 0 ? "0000000000000000" : clusterId));
        }

        if (random.Next(4) == 0)
        {
            headers.Add(new(InternalHeaderNames.Clock, random.Next(3) switch { 0 => "x", 1 => ulong.MaxValue.ToString(CultureInfo.InvariantCulture), _ => ((ulong)random.NextInt64()).ToString(CultureInfo.InvariantCulture) }));
        }

        if (random.Next(5) == 0)
        {
            headers.Add(new(InternalHeaderNames.Node, HttpFuzzer.HeaderSafe(json.String())));
        }

        int kind = random.Next(10);
        string method;
        string path;
        byte[]? body = null;
        string? contentType = random.Next(8) switch { 0 => null, 1 => "text/plain", 2 => "application/json; charset=utf-16", 3 => "application/x-www-form-urlencoded", _ => "application/json" };
        FuzzExpectation? expected = authenticated ? null : Unauthorized;
        if (kind < 4)
        {
            method = "POST";
            path = SafeRoutes[random.Next(SafeRoutes.Length)];
            string Valid(string route) => route == InternalRoutes.Write ? ValidWrite(json) : route == InternalRoutes.Retract
                ? JsonSerializer.Serialize(new RetractRequest(json.String(), new string('a', 64)), JsonSerializerOptions.Web)
                : JsonSerializer.Serialize(new QueryRequest(json.String(), random.Next(2) == 0 ? null : json.String(), random.Next(2) == 0), JsonSerializerOptions.Web);

            // A batch of one to three calls of the routes a batch carries (and now and then one it does not).
            string valid = path != InternalRoutes.Batch ? Valid(path) : "{\"calls\":[" + string.Join(",", Enumerable.Range(0, random.Next(1, 4)).Select(_ =>
            {
                string route = SafeRoutes[random.Next(SafeRoutes.Length)];
                return "{\"route\":" + JsonSerializer.Serialize(route) + ",\"body\":" + (route == InternalRoutes.Batch ? "{}" : Valid(route)) + "}";
            })) + "]}";
            body = random.Next(3) switch { 0 => Encoding.UTF8.GetBytes(valid), 1 => Encoding.UTF8.GetBytes(json.Mutate(valid)), _ => json.Damage(valid, alwaysInvalid: false) };
        }
        else if (kind < 7)
        {
            method = "POST";
            path = GuardedRoutes[random.Next(GuardedRoutes.Length)];
            string basis = random.Next(2) == 0 ? table : json.Value();
            body = json.Damage(basis.StartsWith('{') || basis.StartsWith('[') ? basis : "{\"v\":" + basis + "}", alwaysInvalid: true);
            expected ??= Refused;
            contentType = "application/json"; // the body, not the type, is what is refused here
        }
        else if (kind < 9)
        {
            method = random.Next(6) == 0 ? "HEAD" : "GET";
            path = GetRoutes[random.Next(GetRoutes.Length)];
            if (path is InternalRoutes.RangeExport or InternalRoutes.RangeDigests || random.Next(4) == 0)
            {
                path += $"?start={Number(random)}&end={Number(random)}" + (random.Next(3) == 0 ? $"&after={Uri.EscapeDataString(json.String())}&limit={Number(random)}" : "");
            }

            if (path.StartsWith("/healthz", StringComparison.Ordinal) || path.StartsWith("/readyz", StringComparison.Ordinal))
            {
                expected = null; // probes stay open
            }
        }
        else
        {
            method = new[] { "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "FUZZ", "GET", "POST" }[random.Next(8)];
            path = random.Next(2) == 0
                ? InternalRoutes.Root + "/" + PathSegment(json.String())
                : new[] { InternalRoutes.Root, InternalRoutes.Root + "/", "/internal", "/internal/v2/assertions", InternalRoutes.Write + "/extra", "/", "/%2e%2e/internal/v1/members", InternalRoutes.Root + "/%01%7f" }[random.Next(8)];
            if (method is "POST" or "PUT" or "PATCH")
            {
                body = random.Next(2) == 0 ? Encoding.UTF8.GetBytes(json.Value()) : json.Damage(json.Value(), alwaysInvalid: false);
            }

            if (!path.StartsWith("/internal", StringComparison.Ordinal) || method is "TRACE")
            {
                expected = null; // outside the token's reach or refused by the server before it
            }
        }

        if (random.Next(200) == 0)
        {
            body = Encoding.UTF8.GetBytes("{\"assertions\":[" + string.Join(",", Enumerable.Repeat("{\"subject\":\"s\",\"predicate\":\"p\",\"object\":\"" + new string('x', 4000) + "\"}", 1200)) + "]}");
            method = "POST";
            expected = !path.StartsWith("/internal", StringComparison.Ordinal) ? null
                : authenticated ? new FuzzExpectation("a 4xx: over a node's body limit", s => s is >= 400 and < 500) : Unauthorized;
        }

        return new FuzzRequest(method, path, headers, body, body is null ? null : contentType, expected);
    }

    /// <summary>
    /// A path segment from any string, with one exception: a NUL (%00) in the path is refused by Kestrel
    /// itself while it parses the request line (400, no body: the app never sees the request, so no problem
    /// body can be written), and is left out.
    /// </summary>
    internal static string PathSegment(string text) => Uri.EscapeDataString(text).Replace("%00", "%01", StringComparison.Ordinal);

    private static string ValidWrite(JsonFuzz json)
    {
        int count = json.Random.Next(1, 4);
        var assertions = Enumerable.Range(0, count).Select(_ => "{\"subject\":" + JsonSerializer.Serialize(json.String()) + ",\"predicate\":" + JsonSerializer.Serialize(json.String()) + ",\"object\":" + json.Value() + "}");
        return "{\"assertions\":[" + string.Join(",", assertions) + "]}";
    }

    private static string Number(Random random) => random.Next(5) switch
    {
        0 => "-1",
        1 => "x",
        2 => "99999999999",
        3 => random.Next(0, 300).ToString(CultureInfo.InvariantCulture),
        _ => random.Next(0, NodeCluster.Shards + 2).ToString(CultureInfo.InvariantCulture),
    };
}
