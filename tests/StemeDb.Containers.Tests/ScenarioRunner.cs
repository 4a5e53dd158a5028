using System.Diagnostics;
using System.Globalization;
using StemeDb.Cluster.Sharding;
using Xunit.Abstractions;
using StemeDb.Testing;

namespace StemeDb.Containers.Tests;

/// <summary>
/// One fault scenario from start to verdict: wait until the cluster is whole, the workload on through both
/// gateways, a steady state, the fault and its repair, a steady state, the workload off; then the full
/// read-back (every write acknowledged so far, with history), the checker over the scenario's history, a
/// row of the reliability table, and the assertion: no acknowledged write lost, no stale read, no
/// retraction undone, nothing acknowledged earlier missing.
/// </summary>
public sealed class ScenarioRunner(ContainerCluster cluster, ITestOutputHelper output)
{
    public const double Rate = 25; // operations per second, over both gateways
    public const int InFlight = 8; // per gateway
    public static readonly TimeSpan Steady = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan FaultTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan ReadBackLimit = TimeSpan.FromMinutes(5);

    /// <summary>Skips without a container engine; otherwise waits until every node is alive in every view and both gateways are ready.</summary>
    public async Task PrepareAsync()
    {
        ContainerEngine.SkipUnlessAvailable();
        await cluster.WaitGatewaysAsync(FaultTimeout);
        for (int node = 0; node < ContainerCluster.NodeCount; node++)
        {
            await UntilStateAsync(node, "alive", Stopwatch.StartNew());
        }
    }

    public async Task RunAsync(string name, Func<Stopwatch, Task<(TimeSpan? Detected, TimeSpan? Recovered)>> fault, LoadFocus? focus = null)
    {
        await PrepareAsync();
        DateTime began = DateTime.UtcNow;
        string prefix = name.GetHashCode(StringComparison.Ordinal).ToString("x8", CultureInfo.InvariantCulture);
        var load = new LoadGenerator(cluster.Gateways, prefix, Rate, InFlight, focus);
        load.Start();
        (TimeSpan? detected, TimeSpan? recovered) = (null, null);
        try
        {
            await Task.Delay(Steady);
            (detected, recovered) = await fault(Stopwatch.StartNew());
            await Task.Delay(Steady);
        }
        finally
        {
            await cluster.Faults.HealAsync(); // whatever a failed fault left behind
            LoadResult result = await load.StopAsync();
            cluster.Ledger.Record(result.Operations);

            // The gateways must be up to read through them (a dead gateway fails here, with its log).
            await cluster.WaitGatewaysAsync(FaultTimeout);
            var readBack = await cluster.ReadBackAsync(cluster.Ledger.Subjects, ReadBackLimit);
            HistoryReport report = HistoryChecker.Check(result.Operations, result.Duration, readBack);
            Ledger.Findings earlier = cluster.Ledger.Check(readBack, result.Operations.Select(o => o.Subject).ToHashSet());
            cluster.Ledger.MarkReported(
                report.LostWrites.Concat(report.Unreadable).Concat(report.UndoneRetractions.Select(u => u.Retraction)).Select(o => o.Subject)
                    .Concat(earlier.Missing).Concat(earlier.Unreadable).Concat(earlier.Undone),
                name);

            var row = new ScenarioRow(name, report, result.NotSent, earlier.Count, detected, recovered);
            cluster.Report.Add(row.ToString());
            output.WriteLine(ScenarioRow.Header);
            output.WriteLine(ScenarioRow.Rule);
            output.WriteLine(row.ToString());
            output.WriteLine(report.Describe());
            output.WriteLine($"ledger: {cluster.Ledger.Count} acknowledged writes so far; of those before this scenario {earlier.Missing.Count} missing, {earlier.Unreadable.Count} unreadable, {earlier.Undone.Count} retractions undone: {string.Join(", ", earlier.Missing.Concat(earlier.Unreadable).Concat(earlier.Undone).Take(10))}");
            await DescribeRangesAsync(report);
            await DescribeDropsAsync(began);
            Assert.True(report.Clean && earlier.Count == 0, $"{name}: {report.Describe()}\nearlier writes: {earlier.Missing.Count} missing, {earlier.Unreadable.Count} unreadable, {earlier.Undone.Count} retractions undone");
        }
    }

    /// <summary>Waits until every other reachable node reports <paramref name="state"/> for the node; returns the time since <paramref name="clock"/> started.</summary>
    public async Task<TimeSpan> UntilStateAsync(int node, string state, Stopwatch clock)
    {
        int[] everyone = [.. Enumerable.Range(0, ContainerCluster.NodeCount)];
        TimeSpan reported = TimeSpan.Zero;
        // FaultTimeout counts from the clock's start (the fault, the heal), not from this call.
        await Poll.UntilAsync(
            async () =>
            {
                string?[] seen = await cluster.StatesOfAsync(node, everyone);
                reported = clock.Elapsed;
                return seen.Any(s => s is not null) && seen.Where(s => s is not null).All(s => s == state);
            },
            FaultTimeout - clock.Elapsed,
            $"every other reachable node reports {ContainerCluster.NodeId(node)} {state}",
            step: TimeSpan.FromMilliseconds(100),
            diagnostics: async () => $"{string.Join(", ", await cluster.StatesOfAsync(node, everyone))}\n{await cluster.LogsAsync(cluster.Node(node))}");
        return reported;
    }

    /// <summary>
    /// Waits, at most <paramref name="limit"/>, until every node of <paramref name="observers"/> reports
    /// every node of <paramref name="targets"/> as not alive (suspect, dead); the time since
    /// <paramref name="clock"/> started, or null when that did not happen within the limit (SWIM routes
    /// around some cuts; Lifeguard slows the probes of a node that gets no answers).
    /// </summary>
    public async Task<TimeSpan?> UntilReportedAsync(IReadOnlyList<int> targets, IReadOnlyList<int> observers, Stopwatch clock, TimeSpan limit)
    {
        TimeSpan at = TimeSpan.Zero;
        bool held = await Poll.WithinAsync(
            async () =>
            {
                bool[] reported = await Task.WhenAll(targets.Select(async t => (await cluster.StatesOfAsync(t, observers)).All(s => s is not null && s != "alive")));
                at = clock.Elapsed;
                return reported.All(r => r);
            },
            limit,
            step: TimeSpan.FromMilliseconds(100));
        return held ? at : null;
    }

    /// <summary>As <see cref="UntilReportedAsync"/>, both ways: each side reports the other side not alive.</summary>
    public async Task<TimeSpan?> UntilCutOffAsync(IReadOnlyList<int> one, IReadOnlyList<int> other, Stopwatch clock, TimeSpan limit)
    {
        var until = Stopwatch.StartNew();
        TimeSpan? first = await UntilReportedAsync(one, other, clock, limit);
        return first is null ? null : await UntilReportedAsync(other, one, clock, limit - until.Elapsed);
    }

    /// <summary>Watches until cancelled whether any node ever reports <paramref name="state"/> for the node.</summary>
    public async Task<bool> EverStateAsync(int node, string state, CancellationToken cancellationToken)
    {
        int[] everyone = [.. Enumerable.Range(0, ContainerCluster.NodeCount)];
        while (!cancellationToken.IsCancellationRequested)
        {
            if ((await cluster.StatesOfAsync(node, everyone)).Contains(state))
            {
                return true;
            }

            try
            {
                await Task.Delay(50, cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return false;
    }

    /// <summary>For the output: what each node logged about replica changes and data it dropped during the scenario.</summary>
    private async Task DescribeDropsAsync(DateTime since)
    {
        for (int node = 0; node < ContainerCluster.NodeCount; node++)
        {
            List<string> changes = await cluster.NodeLogLinesAsync(node, since, "; now "); // "Range {Kind}: {Reason}; now {Descriptors}"
            List<string> drops = await cluster.NodeLogLinesAsync(node, since, "Dropped the data");
            output.WriteLine($"{ContainerCluster.NodeId(node)}: {changes.Count} range changes made, {drops.Count} ranges' data dropped");
            foreach (string line in drops.Take(5))
            {
                output.WriteLine($"  {line}");
            }
        }
    }

    /// <summary>For the output: the range (now) of each subject with a finding, to tell which replica sets lost what.</summary>
    private async Task DescribeRangesAsync(HistoryReport report)
    {
        List<string> subjects = [.. report.LostWrites.Concat(report.StaleReads.Select(s => s.Write)).Concat(report.UndoneRetractions.Select(u => u.Retraction)).Select(o => o.Subject).Distinct()];
        if (subjects.Count == 0)
        {
            return;
        }

        try
        {
            List<RangeInfo> ranges = await cluster.RangesAsync(0);
            foreach (IGrouping<RangeInfo?, string> group in subjects.GroupBy(s => ranges.FirstOrDefault(r => r.Holds(ShardId.ForSubject(s, ContainerCluster.ShardCount).Value))))
            {
                output.WriteLine(group.Key is { } r
                    ? $"range {r.Id} [{r.StartShard}, {r.EndShard}) gen {r.Generation} replicas {string.Join(",", r.Replicas)} leader {r.Leader}: {group.Count()} subjects with findings"
                    : $"no range found for {group.Count()} subjects with findings");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            output.WriteLine($"ranges unavailable: {e.Message}");
        }
    }
}
