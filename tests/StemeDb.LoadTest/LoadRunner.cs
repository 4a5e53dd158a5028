using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using HdrHistogram;
using StemeDb.Contracts;

namespace StemeDb.LoadTest;

/// <summary>
/// Sends the requests of one run and records each latency in an HdrHistogram (microseconds). In open-loop
/// mode latency counts from the moment a request was due, not when it was sent, so queueing shows
/// (no coordinated omission).
/// </summary>
public sealed class LoadRunner(LoadOptions options, HttpClient http, LeaderMap? leaders)
{
    /// <summary>The value size of a write: a new assertion's object (<c>{"n":…,"pad":…}</c>) and an etcd value are both 100 bytes.</summary>
    public const int ValueBytes = 100;

    // {"n":<7 digits>,"pad":"…"} is 18 bytes around the pad.
    private static readonly string Pad = new('x', ValueBytes - 18);
    private static readonly string EtcdValue = Convert.ToBase64String(Enumerable.Repeat((byte)'x', ValueBytes).ToArray());
    private readonly Zipf? _zipf = options.Distribution == "zipf" ? new Zipf(options.Keys, options.ZipfExponent) : null;
    private long _sequence;

    public static string Subject(int key) => $"load:{key}";

    public async Task<LoadResult> RunAsync(CancellationToken cancellationToken)
    {
        if (options.Warmup > TimeSpan.Zero)
        {
            await PhaseAsync(options.Warmup, long.MaxValue, cancellationToken);
        }

        long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        (LongHistogram histogram, long errors) = await PhaseAsync(options.Duration, options.MaxRequests, cancellationToken);
        TimeSpan elapsed = clock.Elapsed;
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        long count = histogram.TotalCount;
        return new LoadResult(
            count,
            errors,
            count / elapsed.TotalSeconds,
            histogram.GetValueAtPercentile(50) / 1000.0,
            histogram.GetValueAtPercentile(99) / 1000.0,
            histogram.GetValueAtPercentile(99.9) / 1000.0,
            histogram.GetMaxValue() / 1000.0,
            count == 0 ? 0 : allocated / count);
    }

    private async Task<(LongHistogram Histogram, long Errors)> PhaseAsync(TimeSpan duration, long maxRequests, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        long sent = 0;
        long errors = 0;
        var histograms = new List<LongHistogram>();
        if (options.Mode == "closed")
        {
            await Task.WhenAll(Enumerable.Range(0, options.Clients).Select(async c =>
            {
                var histogram = new LongHistogram(60_000_000, 3);
                lock (histograms)
                {
                    histograms.Add(histogram);
                }

                var random = new Random(c * 7919 + 1);
                while (deadline.Elapsed < duration && Interlocked.Increment(ref sent) <= maxRequests && !cancellationToken.IsCancellationRequested)
                {
                    long start = Stopwatch.GetTimestamp();
                    bool ok = await SendAsync(random, cancellationToken);
                    histogram.RecordValue(Math.Max(1, (long)Stopwatch.GetElapsedTime(start).TotalMicroseconds));
                    if (!ok)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            }));
        }
        else
        {
            var histogram = new LongHistogram(60_000_000, 3);
            histograms.Add(histogram);
            var random = new Random(17);
            var inFlight = new List<Task>();
            long interval = (long)(Stopwatch.Frequency / options.Rate);
            long first = Stopwatch.GetTimestamp();
            for (long n = 0; n < maxRequests && deadline.Elapsed < duration && !cancellationToken.IsCancellationRequested; n++)
            {
                long due = first + n * interval;
                long wait = due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency), cancellationToken);
                }

                int seed = random.Next();
                inFlight.Add(Task.Run(async () =>
                {
                    bool ok = await SendAsync(new Random(seed), cancellationToken);
                    long micros = Math.Max(1, (Stopwatch.GetTimestamp() - due) * 1_000_000 / Stopwatch.Frequency);
                    lock (histogram)
                    {
                        histogram.RecordValue(Math.Min(micros, 60_000_000));
                    }

                    if (!ok)
                    {
                        Interlocked.Increment(ref errors);
                    }
                }, cancellationToken));
                if (inFlight.Count > 4096)
                {
                    inFlight.RemoveAll(t => t.IsCompleted);
                }
            }

            await Task.WhenAll(inFlight);
        }

        var total = new LongHistogram(60_000_000, 3);
        foreach (LongHistogram h in histograms)
        {
            total.Add(h);
        }

        return (total, errors);
    }

    private async Task<bool> SendAsync(Random random, CancellationToken cancellationToken)
    {
        try
        {
            using HttpRequestMessage request = Build(random);
            using HttpResponseMessage response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private HttpRequestMessage Build(Random random)
    {
        if (options.Api == "plain")
        {
            return new HttpRequestMessage(HttpMethod.Get, options.Target);
        }

        int key = _zipf?.Next(random) ?? random.Next(options.Keys);
        string subject = Subject(key);
        if (options.Api == "etcd")
        {
            return Etcd(random, subject);
        }

        if (random.NextDouble() < options.ReadRatio)
        {
            Uri root = options.Api == "node" ? leaders!.LeaderOf(subject) : AnyTarget(random);
            return options.Api == "node"
                ? new HttpRequestMessage(HttpMethod.Post, new Uri(root, InternalRoutes.Query))
                {
                    Content = new StringContent($"{{\"subject\":{JsonSerializer.Serialize(subject)},\"history\":false}}", Encoding.UTF8, "application/json"),
                }
                : new HttpRequestMessage(HttpMethod.Get, new Uri(root, $"/v1/subjects/{Uri.EscapeDataString(subject)}/assertions"));
        }

        // A new assertion of a new subject each time ({subject}/{n}, as an etcd write puts the new key
        // {key}/{n}): every write is stored, not deduplicated, and the subjects that reads ask for keep the
        // one assertion the preload gave them, so a read costs the same at the end of a run as at its start.
        long n = Interlocked.Increment(ref _sequence);
        string newSubject = $"{subject}/{n}";
        string written = JsonSerializer.Serialize(newSubject);
        Uri to = options.Api == "node" ? leaders!.LeaderOf(newSubject) : AnyTarget(random);
        string body = options.Api == "node"
            ? $"{{\"assertions\":[{{\"subject\":{written},\"predicate\":\"p\",\"object\":{{\"n\":{n},\"pad\":\"{Pad}\"}}}}]}}"
            : $"{{\"subject\":{written},\"predicate\":\"p\",\"object\":{{\"n\":{n},\"pad\":\"{Pad}\"}}}}";
        return new HttpRequestMessage(HttpMethod.Post, new Uri(to, options.Api == "node" ? InternalRoutes.Write : "/v1/assertions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
    }

    /// <summary>
    /// etcd's v3 API through its JSON gateway (keys and values base64): a read is a range of one existing key
    /// (linearizable, etcd's default), a write puts a new key, as a write here stores a new assertion.
    /// </summary>
    private HttpRequestMessage Etcd(Random random, string subject)
    {
        Uri member = AnyTarget(random);
        if (random.NextDouble() < options.ReadRatio)
        {
            return new HttpRequestMessage(HttpMethod.Post, new Uri(member, "/v3/kv/range"))
            {
                Content = new StringContent($"{{\"key\":\"{Base64(subject)}\"}}", Encoding.UTF8, "application/json"),
            };
        }

        long n = Interlocked.Increment(ref _sequence);
        return new HttpRequestMessage(HttpMethod.Post, new Uri(member, "/v3/kv/put"))
        {
            Content = new StringContent($"{{\"key\":\"{Base64($"{subject}/{n}")}\",\"value\":\"{EtcdValue}\"}}", Encoding.UTF8, "application/json"),
        };
    }

    /// <summary>One of <see cref="LoadOptions.Targets"/> at random, or <see cref="LoadOptions.Target"/> when there are none.</summary>
    private Uri AnyTarget(Random random) => options.Targets.Count > 0 ? options.Targets[random.Next(options.Targets.Count)] : options.Target;

    public static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));
}

/// <summary>One run's figures; latencies in milliseconds.</summary>
public sealed record LoadResult(long Requests, long Errors, double Throughput, double P50, double P99, double P999, double Max, long AllocatedBytesPerRequest)
{
    public string ToJson() => JsonSerializer.Serialize(this, JsonSerializerOptions.Web);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Throughput,9:F0} req/s  p50 {P50,6:F2} ms  p99 {P99,6:F2} ms  p99.9 {P999,6:F2} ms  max {Max,7:F1} ms  errors {Errors}");
}
