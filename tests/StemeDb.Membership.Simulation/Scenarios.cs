namespace StemeDb.Membership.Simulation;

/// <summary>What one scenario run measured. Null where the scenario does not measure it.</summary>
public sealed record SimulationResult(
    string Scenario,
    int Nodes,
    int Trials,
    int Seed,
    bool Lifeguard,
    double? DetectionMedianSeconds = null,
    double? DetectionMaxSeconds = null,
    int? Undetected = null,
    int? FalseDeaths = null,
    int? FalseDeathsHealthy = null,
    int? FalseDeathsSlow = null,
    double? DisseminationMedianSeconds = null,
    double? DisseminationMaxSeconds = null,
    double? HealMedianSeconds = null,
    double? BytesPerMemberPerSecond = null,
    int? LargestDatagram = null,
    double? SimulatedSeconds = null);

/// <summary>The scenarios of issue #3, each on a fresh cluster that first bootstraps and idles.</summary>
public static class Scenarios
{
    public static readonly string[] Names = ["crash", "loss", "pause", "disseminate", "partition"];

    public static SimulationResult Run(string scenario, int nodes, int trials, int seed, bool lifeguard)
    {
        var cluster = SimulatedSwimCluster.ForScenarios(nodes, seed, lifeguard);
        if (!cluster.Bootstrap(TimeSpan.FromMinutes(10)))
        {
            throw new InvalidOperationException($"{nodes} members did not converge within 10 minutes of virtual time.");
        }

        // Idle traffic over a window longer than the push-pull interval (180 s at N = 1000).
        TimeSpan window = nodes > 32 ? TimeSpan.FromSeconds(200) : TimeSpan.FromSeconds(60);
        cluster.Advance(TimeSpan.FromSeconds(30)); // let join gossip drain
        long before = cluster.TotalBytesSent;
        cluster.Advance(window);
        double idle = (cluster.TotalBytesSent - before) / (double)nodes / window.TotalSeconds;
        if (cluster.FalseDeaths.Count > 0)
        {
            throw new InvalidOperationException($"{cluster.FalseDeaths.Count} members were declared dead with no fault injected.");
        }

        SimulationResult result = scenario switch
        {
            "crash" => Crash(cluster, trials),
            "loss" => Loss(cluster, trials),
            "pause" => Pause(cluster, trials),
            "disseminate" => Disseminate(cluster, trials),
            "partition" => Partition(cluster, trials),
            _ => throw new ArgumentException($"Unknown scenario '{scenario}'; use one of {string.Join(", ", Names)}.", nameof(scenario)),
        };

        return result with
        {
            Scenario = scenario,
            Nodes = nodes,
            Trials = trials,
            Seed = seed,
            Lifeguard = lifeguard,
            BytesPerMemberPerSecond = Math.Round(idle, 1),
            LargestDatagram = cluster.LargestDatagram,
            SimulatedSeconds = Math.Round(cluster.Elapsed.TotalSeconds, 1),
        };
    }

    /// <summary>Crash-stop one member per trial; time until every live member marks it dead.</summary>
    private static SimulationResult Crash(SimulatedSwimCluster cluster, int trials)
    {
        var times = new List<double>();
        int undetected = 0;
        for (int t = 0; t < trials; t++)
        {
            int victim = cluster.PickLive();
            TimeSpan crashedAt = cluster.Elapsed;
            cluster.Crash(victim);
            int[] live = [.. Enumerable.Range(0, cluster.Count).Where(i => !cluster.IsCrashed(i))];
            bool all = cluster.AdvanceUntil(
                () => cluster.DeadSeen.TryGetValue(victim, out var seen) && live.All(seen.ContainsKey),
                TimeSpan.FromSeconds(60),
                TimeSpan.FromMilliseconds(50)) is not null;
            if (all)
            {
                times.Add((cluster.DeadSeen[victim].Values.Max() - crashedAt).TotalSeconds);
            }
            else
            {
                undetected++;
            }

            cluster.Advance(TimeSpan.FromSeconds(5));
        }

        return new SimulationResult("", 0, 0, 0, false,
            DetectionMedianSeconds: Round(Median(times)),
            DetectionMaxSeconds: Round(times.Count > 0 ? times.Max() : null),
            Undetected: undetected,
            FalseDeaths: cluster.FalseDeaths.Count);
    }

    /// <summary>10 % of all datagrams lost for 60 s per trial; nobody crashed, so every death is false.</summary>
    private static SimulationResult Loss(SimulatedSwimCluster cluster, int trials)
    {
        cluster.Network.Loss = 0.10;
        cluster.Advance(TimeSpan.FromSeconds(60) * trials);
        return new SimulationResult("", 0, 0, 0, false, FalseDeaths: cluster.FalseDeaths.Count, FalseDeathsHealthy: cluster.FalseDeaths.Count, FalseDeathsSlow: 0);
    }

    /// <summary>
    /// One member in eight is slow, as in Lifeguard's experiments: its message processing lags by 0.5–3 s
    /// (re-drawn every few seconds) while its timers keep time, and now and then it freezes for 1–5 s
    /// (timers and all, as in a GC pause) — for 60 s per trial. A slow member's probes time out before it
    /// reads the acks, so it accuses healthy members; deaths of healthy members are told apart from those
    /// of the slow ones.
    /// </summary>
    private static SimulationResult Pause(SimulatedSwimCluster cluster, int trials)
    {
        int slowCount = Math.Max(1, cluster.Count / 8);
        foreach (int i in Enumerable.Range(0, cluster.Count).OrderBy(_ => cluster.Random.Next()).Take(slowCount))
        {
            cluster.Slow.Add(i);
        }

        TimeSpan end = cluster.Elapsed + (TimeSpan.FromSeconds(60) * trials);
        var nextFreeze = cluster.Slow.ToDictionary(i => i, _ => cluster.Elapsed + TimeSpan.FromSeconds(5 + (10 * cluster.Random.NextDouble())));
        var nextLag = cluster.Slow.ToDictionary(i => i, _ => cluster.Elapsed);
        while (cluster.Elapsed < end)
        {
            foreach (int i in cluster.Slow)
            {
                if (nextLag[i] <= cluster.Elapsed)
                {
                    cluster.Hosts[i].ReceiveLag = TimeSpan.FromSeconds(0.5 + (2.5 * cluster.Random.NextDouble()));
                    nextLag[i] = cluster.Elapsed + TimeSpan.FromSeconds(2 + (3 * cluster.Random.NextDouble()));
                }

                if (nextFreeze[i] <= cluster.Elapsed)
                {
                    TimeSpan pause = TimeSpan.FromSeconds(1 + (4 * cluster.Random.NextDouble()));
                    cluster.Hosts[i].Pause(pause);
                    nextFreeze[i] = cluster.Elapsed + pause + TimeSpan.FromSeconds(5 + (10 * cluster.Random.NextDouble()));
                }
            }

            cluster.Advance(TimeSpan.FromMilliseconds(50));
        }

        int slow = cluster.FalseDeaths.Count(d => cluster.Slow.Contains(d.Member));
        return new SimulationResult("", 0, 0, 0, false, FalseDeaths: cluster.FalseDeaths.Count, FalseDeathsHealthy: cluster.FalseDeaths.Count - slow, FalseDeathsSlow: slow);
    }

    /// <summary>A member changes its metadata; time until 99.99 % of the others hold the new incarnation.</summary>
    private static SimulationResult Disseminate(SimulatedSwimCluster cluster, int trials)
    {
        var times = new List<double>();
        for (int t = 0; t < trials; t++)
        {
            int source = cluster.PickLive();
            var member = cluster.Members[source];
            member.UpdateMetadata(member.Self.Metadata.SetItem("version", t.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            uint incarnation = member.Self.Incarnation;
            TimeSpan start = cluster.Elapsed;
            int others = cluster.Count - 1;
            int needed = (int)Math.Ceiling(0.9999 * others);
            bool reached = cluster.AdvanceUntil(
                () => cluster.Members.Count(m => m != member && m.Find(member.LocalId)?.Incarnation >= incarnation) >= needed,
                TimeSpan.FromSeconds(30),
                TimeSpan.FromMilliseconds(10)) is not null;
            if (reached)
            {
                times.Add((cluster.Elapsed - start).TotalSeconds);
            }

            cluster.Advance(TimeSpan.FromSeconds(10));
        }

        return new SimulationResult("", 0, 0, 0, false,
            DisseminationMedianSeconds: Round(Median(times)),
            DisseminationMaxSeconds: Round(times.Count > 0 ? times.Max() : null),
            Undetected: trials - times.Count,
            FalseDeaths: cluster.FalseDeaths.Count);
    }

    /// <summary>Halves cut apart for 30 s, then healed; time until every member sees every member alive again.</summary>
    private static SimulationResult Partition(SimulatedSwimCluster cluster, int trials)
    {
        var times = new List<double>();
        for (int t = 0; t < trials; t++)
        {
            cluster.Network.Partition(Enumerable.Range(0, cluster.Count / 2).Select(SimulatedSwimCluster.AddressOf));
            cluster.Advance(TimeSpan.FromSeconds(30));
            cluster.Network.Heal();
            TimeSpan healed = cluster.Elapsed;
            bool converged = cluster.AdvanceUntil(
                () => cluster.Members.All(m => m.ActiveMemberCount == cluster.Count),
                TimeSpan.FromMinutes(10),
                TimeSpan.FromMilliseconds(500)) is not null;
            if (converged)
            {
                times.Add((cluster.Elapsed - healed).TotalSeconds);
            }

            cluster.Advance(TimeSpan.FromSeconds(30));
        }

        return new SimulationResult("", 0, 0, 0, false, HealMedianSeconds: Round(Median(times)), Undetected: trials - times.Count);
    }

    private static double? Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return null;
        }

        List<double> sorted = [.. values.Order()];
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static double? Round(double? value) => value is null ? null : Math.Round(value.Value, 2);
}
