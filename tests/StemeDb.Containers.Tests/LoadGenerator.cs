using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace StemeDb.Containers.Tests;

/// <summary>
/// Writes through the gateway at a steady rate with at most <c>maxInFlight</c> requests outstanding, each
/// a new subject, and records what was acknowledged (200 with an id) and when. Bounded: it stops by itself
/// after <see cref="MaxDuration"/> even if never stopped.
/// </summary>
public sealed class LoadGenerator(HttpClient gateway, string prefix, double ratePerSecond, int maxInFlight)
{
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(5);
    private static readonly string Pad = new('x', 200);
    private readonly ConcurrentQueue<(string Subject, string Id)> _acknowledged = new();
    private readonly ConcurrentQueue<double> _successAt = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = new();
    private int _attempted;
    private int _failed;
    private int _notSent;
    private Task? _loop;

    public void Start()
    {
        _clock.Start();
        _loop = Task.Run(RunAsync);
    }

    public async Task<LoadResult> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop!;
        double end = _clock.Elapsed.TotalSeconds;
        // The longest time the client went without a successful write (start and end included).
        double[] points = [0, .. _successAt.Order(), end];
        double longest = points.Zip(points.Skip(1), (a, b) => b - a).Max();
        return new LoadResult([.. _acknowledged], _attempted, _failed, _notSent, TimeSpan.FromSeconds(longest), _clock.Elapsed);
    }

    private async Task RunAsync()
    {
        using var slots = new SemaphoreSlim(maxInFlight);
        var inFlight = new List<Task>();
        var interval = TimeSpan.FromSeconds(1 / ratePerSecond);
        long n = 0;
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (_clock.Elapsed < MaxDuration && await timer.WaitForNextTickAsync(_stop.Token))
            {
                if (!await slots.WaitAsync(0))
                {
                    Interlocked.Increment(ref _notSent);
                    continue; // the cluster is slower than the rate: the request is not sent (open loop with a bound)
                }

                long seq = n++;
                inFlight.Add(Task.Run(async () =>
                {
                    try
                    {
                        await WriteAsync($"ct:{prefix}:{seq}");
                    }
                    finally
                    {
                        slots.Release();
                    }
                }));
                inFlight.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(inFlight);
    }

    private async Task WriteAsync(string subject)
    {
        Interlocked.Increment(ref _attempted);
        try
        {
            using var body = new StringContent($"{{\"subject\":\"{subject}\",\"predicate\":\"p\",\"object\":{{\"pad\":\"{Pad}\"}}}}", Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await gateway.PostAsync("/v1/assertions", body);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                string id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ids")[0].GetString()!;
                _acknowledged.Enqueue((subject, id));
                _successAt.Enqueue(_clock.Elapsed.TotalSeconds);
                return;
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
        }

        Interlocked.Increment(ref _failed);
    }
}

/// <param name="NotSent">Ticks skipped because every slot held a request still waiting (a hung peer).</param>
public sealed record LoadResult(List<(string Subject, string Id)> Acknowledged, int Attempted, int Failed, int NotSent, TimeSpan LongestUnavailable, TimeSpan Duration);
