using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;

namespace StemeDb.Testing.Fuzzing;

/// <summary>
/// Sends generated requests to a server with a few at a time and checks what every answer must be,
/// whatever was asked: no 5xx, and a 4xx carries an RFC 7807 problem body (<c>application/problem+json</c>
/// with its status). Bounded in count and in time; a request that was not answered within the per-request
/// timeout is a finding too (the server hung on it).
/// </summary>
public sealed class HttpFuzzer(Uri baseAddress, int concurrency = 4)
{
    public sealed record Finding(FuzzRequest Request, string Problem);

    public sealed record Report(int Sent, IReadOnlyDictionary<int, int> ByStatus, IReadOnlyList<Finding> Findings, TimeSpan Elapsed)
    {
        /// <summary>The report with how to replay it and the whole body of the first findings (base64), for the test's output.</summary>
        public string Describe(int seed) =>
            $"seed {seed} (STEMEDB_FUZZ_SEED={seed} replays it): {this}" + string.Concat(Findings.Take(5).Select(f =>
                $"\n{f.Problem}\n  body: {(f.Request.Body is { } b ? Convert.ToBase64String(b) : "none")}"));

        public override string ToString() =>
            $"{Sent} requests in {Elapsed.TotalSeconds:F1} s; statuses {string.Join(", ", ByStatus.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}"))}; " +
            $"{Findings.Count} findings{(Findings.Count > 0 ? ":\n" + string.Join("\n", Findings.OrderBy(f => f.Problem.StartsWith('5') ? 0 : 1).Take(10).Select(f => $"  {f.Problem} <- {f.Request}")) : "")}";
    }

    /// <summary>Bodies above this are over every limit here (a node takes 4 MiB at most).</summary>
    public const int OversizedBytes = 4 * 1024 * 1024;

    public async Task<Report> RunAsync(Func<int, FuzzRequest> generate, int count, TimeSpan budget, TimeSpan perRequest, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(generate);
        using var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, MaxConnectionsPerServer = concurrency };
        using var http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        // A server refuses an oversized body (401, 413) before reading it and closes the connection while the
        // client still sends: such requests get connections of their own, so none of the others lands on a
        // closing one, and the refusal shows as a failed send (counted, not a finding).
        using var bulkHandler = new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.Zero };
        using var bulk = new HttpClient(bulkHandler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(budget);
        var statuses = new ConcurrentDictionary<int, int>();
        var findings = new ConcurrentQueue<Finding>();
        int next = -1;
        int sent = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count && !deadline.IsCancellationRequested)
            {
                FuzzRequest request = generate(i);
                using HttpRequestMessage message = Build(request);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token);
                timeout.CancelAfter(perRequest);
                try
                {
                    bool oversized = request.Body?.Length > OversizedBytes;
                    using HttpResponseMessage response = await (oversized ? bulk : http).SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    Interlocked.Increment(ref sent);
                    int status = (int)response.StatusCode;
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                    if (await CheckAsync(request, response, timeout.Token).ConfigureAwait(false) is { } problem)
                    {
                        findings.Enqueue(new Finding(request, problem));
                    }
                }
                catch (OperationCanceledException) when (!deadline.IsCancellationRequested)
                {
                    findings.Enqueue(new Finding(request, $"no answer within {perRequest.TotalSeconds:F0} s"));
                }
                catch (OperationCanceledException)
                {
                    return; // out of time: the count check says so
                }
                catch (HttpRequestException) when (request.Body?.Length > OversizedBytes)
                {
                    Interlocked.Increment(ref sent);
                    statuses.AddOrUpdate(0, 1, (_, n) => n + 1); // "0": refused while the body was still being sent
                }
                catch (HttpRequestException e)
                {
                    findings.Enqueue(new Finding(request, $"the connection failed: {e.Message}"));
                }
            }
        })).ConfigureAwait(false);
        return new Report(sent, new Dictionary<int, int>(statuses), [.. findings], clock.Elapsed);
    }

    private HttpRequestMessage Build(FuzzRequest request)
    {
        // Joined as text: "//v1" resolved against the base would be a host named v1.
        var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(baseAddress.GetLeftPart(UriPartial.Authority) + request.PathAndQuery));
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            message.Content.Headers.ContentType = null;
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }

        foreach ((string name, string value) in request.Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(name, value))
            {
                message.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        return message;
    }

    private static async Task<string?> CheckAsync(FuzzRequest request, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        int status = (int)response.StatusCode;
        if (status >= 500)
        {
            return $"{status} {Short(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false))}";
        }

        if (request.Expected is { } expected && !expected.Holds(status))
        {
            return $"{status}, expected {expected.Description}: {Short(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false))}";
        }

        MediaTypeHeaderValue? type = response.Content.Headers.ContentType;
        if (type?.MediaType == "text/event-stream")
        {
            return null; // a stream that stays open: its answer is the 200 and the type
        }

        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (status == 200 && type?.MediaType == "application/x-ndjson")
        {
            return CheckLines(body); // a batch's answers: each call's status is its own
        }

        if (status < 400 || request.Method == "HEAD")
        {
            return null;
        }

        if (type?.MediaType != "application/problem+json")
        {
            return $"{status} without a problem body ({type?.MediaType ?? "no content type"}): {Short(body)}";
        }

        try
        {
            using JsonDocument problem = JsonDocument.Parse(body);
            return problem.RootElement.TryGetProperty("status", out JsonElement s) && s.TryGetInt32(out int said) && said == status
                ? null
                : $"{status} with a problem body whose status is not {status}: {Short(body)}";
        }
        catch (JsonException)
        {
            return $"{status} with a problem body that is not JSON: {Short(body)}";
        }
    }

    /// <summary>A stream of JSON lines, each an answer with its own status (a batch's): a line that is not one, or a 5xx in one, is a finding.</summary>
    private static string? CheckLines(string body)
    {
        foreach (string line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                using JsonDocument answer = JsonDocument.Parse(line);
                if (!answer.RootElement.TryGetProperty("status", out JsonElement s) || !s.TryGetInt32(out int said))
                {
                    return $"200 with a line that has no status: {Short(line)}";
                }

                if (said >= 500)
                {
                    return $"200 with a line of status {said}: {Short(line)}";
                }
            }
            catch (JsonException)
            {
                return $"200 with a line that is not JSON: {Short(line)}";
            }
        }

        return body.Length == 0 || body.EndsWith('\n') ? null : $"200 with a stream cut inside a line: {Short(body)}";
    }

    private static string Short(string body) => body.Length > 300 ? body[..300] + "…" : body;

    /// <summary>A header value HTTP can carry (visible ASCII and spaces): what a generated one becomes.</summary>
    public static string HeaderSafe(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return string.Create(value.Length, value, (span, v) =>
        {
            for (int i = 0; i < v.Length; i++)
            {
                span[i] = v[i] is >= ' ' and <= '~' ? v[i] : '?';
            }
        });
    }

    /// <summary>The seed a run uses: <c>STEMEDB_FUZZ_SEED</c> to replay a failure, else a new one (printed with any finding).</summary>
    public static int Seed() =>
        int.TryParse(Environment.GetEnvironmentVariable("STEMEDB_FUZZ_SEED"), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int seed)
            ? seed
            : Random.Shared.Next();
}
