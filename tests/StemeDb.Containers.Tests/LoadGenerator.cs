using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using StemeDb.Cluster.Sharding;

namespace StemeDb.Containers.Tests;

/// <summary>
/// A client workload at a steady rate through every gateway in turn, each gateway with at most
/// <c>maxInFlight</c> requests outstanding (so a hung gateway does not starve the other). Half the
/// operations write a new subject; the rest read a subject acknowledged earlier (recent ones more often:
/// they are the likeliest to be missing somewhere) or retract an id acknowledged earlier (each at most
/// once). Every operation goes into a <see cref="History"/>. Bounded: it stops by itself after
/// <see cref="MaxDuration"/> even if never stopped.
/// </summary>
public sealed class LoadGenerator(IReadOnlyList<GatewayClient> gateways, string prefix, double ratePerSecond, int maxInFlight, LoadFocus? focus = null)
{
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(5);
    private const double WriteShare = 0.5;
    private const double ReadShare = 0.35; // the rest retract
    private const int Recent = 20;
    private static readonly string Pad = new('x', 200);
    private readonly History _history = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Random _random = new(prefix.GetHashCode(StringComparison.Ordinal));
    private readonly Lock _lock = new();
    private readonly List<(string Subject, string Id)> _acknowledged = [];
    private readonly List<(string Subject, string Id)> _retractable = [];
    private int _notSent;
    private Task? _loop;

    public void Start() => _loop = Task.Run(RunAsync);

    public async Task<LoadResult> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop!;
        return new LoadResult(_history.Operations, _history.Now, _notSent);
    }

    private async Task RunAsync()
    {
        SemaphoreSlim[] slots = [.. gateways.Select(_ => new SemaphoreSlim(maxInFlight))];
        var inFlight = new List<Task>();
        long tick = 0;
        long writes = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1 / ratePerSecond));
        try
        {
            while (_history.Now < MaxDuration && await timer.WaitForNextTickAsync(_stop.Token))
            {
                int g = (int)(tick++ % gateways.Count);
                if (!await slots[g].WaitAsync(0))
                {
                    Interlocked.Increment(ref _notSent);
                    continue; // that gateway is slower than the rate: the request is not sent (open loop with a bound)
                }

                Func<Task> operation = Choose(gateways[g], ref writes);
                inFlight.Add(Task.Run(async () =>
                {
                    try
                    {
                        await operation();
                    }
                    finally
                    {
                        slots[g].Release();
                    }
                }));
                inFlight.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(inFlight);
        foreach (SemaphoreSlim slot in slots)
        {
            slot.Dispose();
        }
    }

    private Func<Task> Choose(GatewayClient gateway, ref long writes)
    {
        lock (_lock)
        {
            double roll = _random.NextDouble();
            if (roll < WriteShare || _acknowledged.Count == 0)
            {
                bool focused = focus is not null && _random.NextDouble() < focus.Share;
                string subject = SubjectFor(writes++, focused);
                return () => WriteAsync(gateway, subject);
            }

            if (roll < WriteShare + ReadShare || _retractable.Count == 0)
            {
                int index = _random.NextDouble() < 0.5
                    ? _acknowledged.Count - 1 - _random.Next(Math.Min(Recent, _acknowledged.Count))
                    : _random.Next(_acknowledged.Count);
                string subject = _acknowledged[index].Subject;
                return () => ReadAsync(gateway, subject);
            }

            int pick = _random.Next(_retractable.Count);
            (string Subject, string Id) target = _retractable[pick];
            _retractable.RemoveAt(pick);
            return () => RetractAsync(gateway, target.Subject, target.Id);
        }
    }

    /// <summary>A new subject (URL-safe: letters, digits, ':'); a focused one is searched for among suffixes until it hashes into the focus.</summary>
    private string SubjectFor(long n, bool focused)
    {
        string subject = $"ct:{prefix}:{n}";
        for (int k = 1; focused && !focus!.Holds(ShardId.ForSubject(subject, ContainerCluster.ShardCount).Value) && k < 100_000; k++)
        {
            subject = $"ct:{prefix}:{n}:{k}";
        }

        return subject;
    }

    private async Task WriteAsync(GatewayClient gateway, string subject)
    {
        TimeSpan start = _history.Now;
        using var body = new StringContent($"{{\"subject\":\"{subject}\",\"predicate\":\"p\",\"object\":{{\"pad\":\"{Pad}\"}}}}", Encoding.UTF8, "application/json");
        (OperationOutcome outcome, int? status, string? id) = await SendAsync(() => gateway.Http.PostAsync("/v1/assertions", body), async r => (await r.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("ids")[0].GetString());
        _history.Add(new Operation(OperationKind.Write, gateway.Name, subject, id, start, _history.Now, outcome, Status: status));
        if (outcome == OperationOutcome.Ok)
        {
            lock (_lock)
            {
                _acknowledged.Add((subject, id!));
                _retractable.Add((subject, id!));
            }
        }
    }

    private async Task ReadAsync(GatewayClient gateway, string subject)
    {
        TimeSpan start = _history.Now;
        (OperationOutcome outcome, int? status, IReadOnlyList<SeenAssertion>? seen) = await SendAsync(() => gateway.Http.GetAsync($"/v1/subjects/{Uri.EscapeDataString(subject)}/assertions"), async r => ContainerCluster.Parse(await r.Content.ReadFromJsonAsync<List<JsonElement>>()));
        _history.Add(new Operation(OperationKind.Read, gateway.Name, subject, null, start, _history.Now, outcome, seen, status));
    }

    private async Task RetractAsync(GatewayClient gateway, string subject, string id)
    {
        TimeSpan start = _history.Now;
        (OperationOutcome outcome, int? status, bool _) = await SendAsync(() => gateway.Http.DeleteAsync($"/v1/subjects/{Uri.EscapeDataString(subject)}/assertions/{id}"), _ => Task.FromResult(true));
        _history.Add(new Operation(OperationKind.Retract, gateway.Name, subject, id, start, _history.Now, outcome, Status: status));
    }

    /// <summary>200 is Ok (with what <paramref name="parse"/> reads from it), 4xx Failed, anything else — another status, a timeout, a broken connection, an unreadable body — Indeterminate.</summary>
    private static async Task<(OperationOutcome Outcome, int? Status, T? Value)> SendAsync<T>(Func<Task<HttpResponseMessage>> send, Func<HttpResponseMessage, Task<T?>> parse)
    {
        try
        {
            using HttpResponseMessage response = await send();
            int status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return (OperationOutcome.Ok, status, await parse(response));
            }

            return (status is >= 400 and < 500 ? OperationOutcome.Failed : OperationOutcome.Indeterminate, status, default);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return (OperationOutcome.Indeterminate, null, default);
        }
    }
}

/// <param name="NotSent">Ticks skipped because every slot of that tick's gateway held a request still waiting (a hung peer).</param>
public sealed record LoadResult(IReadOnlyList<Operation> Operations, TimeSpan Duration, int NotSent);
