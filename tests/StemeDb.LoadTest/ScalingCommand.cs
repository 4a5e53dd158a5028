using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using StemeDb.Testing;

namespace StemeDb.LoadTest;

/// <summary>
/// <c>scaling</c>: the container suite's image (built by its <c>build-image.sh</c>), N node containers with
/// the same CPU quota each (<c>podman run --cpus</c>), every node a founder (a fresh cluster: the default
/// pre-split), RF 3, and gateways without a quota; closed-loop load from this process through all the
/// gateways, read-heavy and mixed, for 3 and then 6 nodes. While each workload runs, /proc/PID/stat of each container's process
/// samples every container's CPU, so the report shows whether the nodes were at their quota and the
/// gateways below what they could use (else the gateways were the limit, not the nodes).
/// </summary>
public static class ScalingCommand
{
    private const int Gateways = 2;
    // Off loopback the nodes need a cluster token (and refuse the SWIM key as one).
    private static readonly string ClusterToken = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)(b * 13 + 5)).ToArray());

    private static readonly string SwimKey = Convert.ToBase64String(Enumerable.Range(0, 32).Select(b => (byte)(b * 7 + 3)).ToArray());

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        int seconds = LoadOptions.IntOption(args, "--duration", 15);
        int clients = LoadOptions.IntOption(args, "--clients", 64);
        // Or an offered load that grows with the cluster (YCSB's way of measuring scale-out): N clients per node.
        int clientsPerNode = LoadOptions.IntOption(args, "--clients-per-node", 0);
        int keys = LoadOptions.IntOption(args, "--keys", 5_000);
        int milliCpus = LoadOptions.IntOption(args, "--node-millicpus", 150);
        // The shortest warm-up before the rows (then until the JIT settles), and the warm-up of each row.
        int warmup = LoadOptions.IntOption(args, "--warmup", 20);
        // How long after the preload the "idle" reading is taken (the preload's flushes and the JIT's tiering settle first).
        int idleWait = LoadOptions.IntOption(args, "--idle-wait", 30);
        // The longest warm-up waiting for the JIT to settle (--warmup is the shortest).
        int settleLimit = LoadOptions.IntOption(args, "--settle-limit", 600);
        int perfAt = Array.IndexOf(args, "--perf");
        string? perfDirectory = perfAt >= 0 && perfAt + 1 < args.Length ? Path.GetFullPath(args[perfAt + 1]) : null;
        int countsAt = Array.IndexOf(args, "--node-counts");
        int[] nodeCounts = countsAt >= 0 && countsAt + 1 < args.Length
            ? [.. args[countsAt + 1].Split(',').Select(n => int.Parse(n, NumberStyles.None, CultureInfo.InvariantCulture))]
            : [3, 6];
        string cpus = (milliCpus / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        if ((await HostCommand.RunAsync("podman", ["--version"], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken)).ExitCode != 0)
        {
            Console.Error.WriteLine("error: podman is not installed (apt-get install podman runc)");
            return 4;
        }

        string repo = StemeDb.Testing.RepositoryRoot.Find();
        Console.Error.WriteLine("building the image (tests/StemeDb.Containers.Tests/build-image.sh)...");
        string image = (await HostCommand.RunCheckedAsync("bash", [Path.Combine(repo, "tests/StemeDb.Containers.Tests/build-image.sh"), "Release"], TimeSpan.FromMinutes(10), repo, new Dictionary<string, string> { ["STEMEDB_REPO"] = repo }, cancellationToken)).Trim().Split('\n')[^1].Trim();

        var rows = new List<Row>();
        var idleCpu = new Dictionary<int, double>();
        var settled = new Dictionary<int, (TimeSpan Took, double Jit)>();
        foreach (int nodes in nodeCounts)
        {
            await using var cluster = await PodmanCluster.StartAsync(image, nodes, Gateways, cpus, perfDirectory is not null, cancellationToken);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { Timeout = TimeSpan.FromSeconds(10) };
            await CompareCommand.PreloadAsync(http, cluster.GatewayUrls[0], keys);
            // What membership and range work cost with no load, once the preload's flushes and the JIT settled.
            await Task.Delay(TimeSpan.FromSeconds(idleWait), cancellationToken);
            Task idleProfile = perfDirectory is null ? Task.CompletedTask : cluster.ProfileNodeAsync(0, TimeSpan.FromSeconds(8), perfDirectory, $"{nodes}-nodes-idle", cancellationToken);
            Dictionary<string, double> idle = await cluster.CpuAsync(cancellationToken);
            await idleProfile;
            idleCpu[nodes] = NodeMean(idle);

            // Steady state first: at a fraction of a core each node's JIT tiers code up for minutes (it took a third
            // of a capped node's CPU 2 min into load). Mixed load runs until no node's tiered-compilation thread
            // used more than 1 % of a core in 10 s, or --settle-limit passed.
            var settling = Stopwatch.StartNew();
            using (var settle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                var warm = new LoadOptions { Target = cluster.GatewayUrls[0], Targets = cluster.GatewayUrls, Api = "gateway", Clients = clientsPerNode > 0 ? clientsPerNode * nodes : clients, Duration = TimeSpan.FromSeconds(settleLimit), Warmup = TimeSpan.Zero, Keys = keys, ReadRatio = 0.75 };
                Task warming = new LoadRunner(warm, http, null).RunAsync(settle.Token);
                double jit = double.MaxValue;
                while (settling.Elapsed < TimeSpan.FromSeconds(settleLimit) && (settling.Elapsed < TimeSpan.FromSeconds(warmup) || jit > 1))
                {
                    jit = await cluster.NodeJitCpuAsync(TimeSpan.FromSeconds(10), cancellationToken);
                }

                await settle.CancelAsync();
                await warming.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                settled[nodes] = (settling.Elapsed, jit);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{nodes} nodes: warmed up for {settling.Elapsed.TotalSeconds:F0} s; the busiest node's JIT thread at {jit:F1} % of a core over the last 10 s"));
            }

            foreach ((string workload, double reads) in new[] { ("read-heavy (95 % reads)", 0.95), ("mixed (50 % reads)", 0.5) })
            {
                var options = new LoadOptions { Target = cluster.GatewayUrls[0], Targets = cluster.GatewayUrls, Api = "gateway", Clients = clientsPerNode > 0 ? clientsPerNode * nodes : clients, Duration = TimeSpan.FromSeconds(seconds), Warmup = TimeSpan.FromSeconds(warmup), Keys = keys, ReadRatio = reads };
                Task<LoadResult> load = new LoadRunner(options, http, null).RunAsync(cancellationToken);
                await Task.Delay(TimeSpan.FromSeconds(warmup + (seconds / 2)), cancellationToken);
                HostCpu before = HostCpu.Read();
                Task profile = perfDirectory is null ? Task.CompletedTask : cluster.ProfileNodeAsync(0, TimeSpan.FromSeconds(6), perfDirectory, $"{nodes}-nodes-{(reads > 0.9 ? "read-heavy" : "mixed")}", cancellationToken);
                Dictionary<string, double> cpu = await cluster.CpuAsync(cancellationToken);
                cpu["host (all cores)"] = HostCpu.Read().BusyPercentSince(before);
                await profile;
                LoadResult result = await load;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{nodes} nodes, {workload}: {result}; cpu {string.Join(", ", cpu.Select(c => $"{c.Key} {c.Value:F0} %"))}"));
                rows.Add(new Row(nodes, workload, result, cpu));
            }
        }

        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"closed loop, {(clientsPerNode > 0 ? $"{clientsPerNode} clients per node" : $"{clients} clients")} over {Gateways} gateways (no CPU quota), {seconds} s per row after {warmup} s of warm-up, {keys} subjects uniform; each node container --cpus {cpus}, RF 3, fsync on, all containers on one disk"));
        foreach ((int n, (TimeSpan took, double jit)) in settled)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{n} nodes: mixed load for {took.TotalSeconds:F0} s before the rows, until no node's JIT thread used more than 1 % of a core in 10 s (last: {jit:F1} %)"));
        }
        Console.WriteLine();
        Console.WriteLine("| nodes | workload | req/s | p50 ms | p99 ms | errors | node CPU (mean, % of one core; idle before the load) | gateway CPU (each) | host busy (2 cores) |");
        Console.WriteLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |");
        foreach (Row r in rows)
        {
            string gatewayCpu = string.Join(", ", r.Cpu.Where(c => c.Key.Contains("-gateway-", StringComparison.Ordinal)).Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Value:F0} %")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Nodes} | {r.Workload} | {r.Result.Throughput:F0} | {r.Result.P50:F2} | {r.Result.P99:F2} | {r.Result.Errors} | {NodeMean(r.Cpu):F0} % ({idleCpu[r.Nodes]:F1} %) | {gatewayCpu} | {r.Cpu["host (all cores)"]:F0} % |"));
        }

        bool met = true;
        Console.WriteLine();
        foreach (string workload in rows.Select(r => r.Workload).Distinct().Where(_ => nodeCounts.Contains(3) && nodeCounts.Contains(6)))
        {
            double ratio = rows.Single(r => r.Nodes == 6 && r.Workload == workload).Result.Throughput / rows.Single(r => r.Nodes == 3 && r.Workload == workload).Result.Throughput;
            met &= ratio >= 1.7;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{workload}: 6 / 3 nodes = {ratio:F2} (target ≥ 1.7: {(ratio >= 1.7 ? "met" : "missed")})"));
        }

        Console.WriteLine(JsonSerializer.Serialize(rows, JsonSerializerOptions.Web));
        return met ? 0 : 3;
    }

    private static double NodeMean(Dictionary<string, double> cpu) =>
        cpu.Where(c => c.Key.Contains("-node-", StringComparison.Ordinal)).Select(c => c.Value).DefaultIfEmpty(0).Average();

    private sealed record Row(int Nodes, string Workload, LoadResult Result, Dictionary<string, double> Cpu);

    /// <summary>The host's CPU counters (<c>/proc/stat</c>, first line): how busy all cores were between two readings.</summary>
    private sealed record HostCpu(long Busy, long Total)
    {
        public static HostCpu Read()
        {
            long[] fields = [.. File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(f => long.Parse(f, CultureInfo.InvariantCulture))];
            long idle = fields[3] + fields[4]; // idle + iowait
            return new HostCpu(fields.Sum() - idle, fields.Sum());
        }

        public double BusyPercentSince(HostCpu before) => Total == before.Total ? 0 : 100.0 * (Busy - before.Busy) / (Total - before.Total);
    }

    /// <summary>Node and gateway containers on a podman network of their own, removed at the end.</summary>
    private sealed class PodmanCluster : IAsyncDisposable
    {
        private readonly string _run = Guid.NewGuid().ToString("N")[..8];
        private readonly List<string> _containers = [];
        private string? _network;

        public List<Uri> GatewayUrls { get; } = [];

        /// <param name="perfMaps">Node runtimes write their JIT symbol maps (<c>DOTNET_PerfMapEnabled</c>), for <see cref="ProfileNodeAsync"/>.</param>
        public static async Task<PodmanCluster> StartAsync(string image, int nodes, int gateways, string cpus, bool perfMaps, CancellationToken cancellationToken)
        {
            var cluster = new PodmanCluster();
            try
            {
                string prefix = $"10.91.{Random.Shared.Next(100, 250)}.";
                cluster._network = $"stemedb-scale-{cluster._run}";
                await Podman(["network", "create", "--subnet", $"{prefix}0/24", "--gateway", $"{prefix}1", cluster._network], cancellationToken);
                string Node(int i) => $"stemedb-node-{i + 1}";
                string NodeAddress(int i) => $"{prefix}{11 + i}";
                for (int i = 0; i < nodes; i++)
                {
                    var env = new List<string>
                    {
                        "ASPNETCORE_URLS=http://0.0.0.0:5000",
                        "Logging__LogLevel__Default=Warning",
                        $"Cluster__NodeId={Node(i)}",
                        "Cluster__Swim__BindAddress=0.0.0.0",
                        $"Cluster__Swim__AdvertiseAddress={NodeAddress(i)}",
                        $"Cluster__Swim__Keys__0={SwimKey}",
                        $"Node__ClusterToken={ClusterToken}",
                        $"Node__HttpAddress=http://{NodeAddress(i)}:5000",
                        "Storage__DataDirectory=/data",
                    };
                    if (perfMaps)
                    {
                        env.Add("DOTNET_PerfMapEnabled=1");
                        env.Add("DOTNET_EnableWriteXorExecute=0"); // else JIT code runs from a double mapping that perf cannot name
                    }

                    env.AddRange(Enumerable.Range(0, nodes).Select(g => $"Node__Genesis__{g}={Node(g)}"));
                    env.AddRange(Enumerable.Range(0, nodes).Where(s => s != i).Select((s, k) => $"Cluster__Swim__Seeds__{k}={NodeAddress(s)}:7946"));
                    await cluster.RunAsync($"stemedb-scale-{cluster._run}-node-{i + 1}", NodeAddress(i), cpus, env, image, "/app/node/StemeDb.Node.dll", cancellationToken);
                }

                for (int g = 0; g < gateways; g++)
                {
                    string address = $"{prefix}{40 + g}";
                    var env = new List<string> { "ASPNETCORE_URLS=http://0.0.0.0:8080", "Logging__LogLevel__Default=Warning", "Gateway__RefreshInterval=00:00:01", $"Gateway__ClusterToken={ClusterToken}" };
                    env.AddRange(Enumerable.Range(0, nodes).Select(s => $"Gateway__Seeds__{s}=http://{NodeAddress(s)}:5000"));
                    await cluster.RunAsync($"stemedb-scale-{cluster._run}-gateway-{g + 1}", address, null, env, image, "/app/gateway/StemeDb.Gateway.dll", cancellationToken);
                    cluster.GatewayUrls.Add(new Uri($"http://{address}:8080"));
                }

                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
                await Poll.UntilAsync(
                    async () => await ReadyAsync(http, cluster.GatewayUrls, nodes, cancellationToken),
                    TimeSpan.FromSeconds(120),
                    $"{nodes} nodes joined and both gateways ready, routing to every node",
                    step: TimeSpan.FromMilliseconds(500),
                    retryOn: e => e is HttpRequestException or TaskCanceledException);
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        /// <summary>
        /// Each container's CPU over the next two seconds, in % of one core: the user and system time of its
        /// process on the host (<c>/proc/PID/stat</c>), read twice. (<c>podman stats --no-stream</c> reports
        /// the average since the container started, start-up included, so it is not used.)
        /// </summary>
        public async Task<Dictionary<string, double>> CpuAsync(CancellationToken cancellationToken)
        {
            var pids = new Dictionary<string, int>();
            foreach (string name in _containers)
            {
                pids[name] = await PidAsync(name, cancellationToken);
            }

            Dictionary<string, long> before = pids.ToDictionary(p => p.Key, p => Ticks(p.Value));
            var clock = Stopwatch.StartNew();
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            Dictionary<string, long> after = pids.ToDictionary(p => p.Key, p => Ticks(p.Value));
            double seconds = clock.Elapsed.TotalSeconds;
            return pids.Keys.ToDictionary(n => n, n => 100.0 * (after[n] - before[n]) / TicksPerSecond / seconds);
        }

        /// <summary>
        /// The CPU, in % of one core over <paramref name="window"/>, of the busiest node's tiered-compilation
        /// thread (the runtime's background JIT, named ".NET Tiered Com" in /proc/PID/task/TID/comm).
        /// </summary>
        public async Task<double> NodeJitCpuAsync(TimeSpan window, CancellationToken cancellationToken)
        {
            var pids = new List<int>();
            foreach (string name in _containers.Where(c => c.Contains("-node-", StringComparison.Ordinal)))
            {
                pids.Add(await PidAsync(name, cancellationToken));
            }

            // By thread id: the runtime ends an idle tiering thread and starts another when work comes, so a thread
            // that exists only at the end counts from zero and one that ended counts nothing more.
            static Dictionary<string, long> JitTicks(int pid)
            {
                var ticks = new Dictionary<string, long>();
                foreach (string task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    try
                    {
                        if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith(".NET Tiered", StringComparison.Ordinal))
                        {
                            ticks[Path.GetFileName(task)] = Ticks(Path.Combine(task, "stat"));
                        }
                    }
                    catch (IOException)
                    {
                        // The thread ended while being read.
                    }
                }

                return ticks;
            }

            Dictionary<string, long>[] before = [.. pids.Select(JitTicks)];
            var clock = Stopwatch.StartNew();
            await Task.Delay(window, cancellationToken);
            Dictionary<string, long>[] after = [.. pids.Select(JitTicks)];
            return pids.Select((_, i) => after[i].Sum(t => t.Value - before[i].GetValueOrDefault(t.Key)))
                .Max(ticks => 100.0 * ticks / TicksPerSecond / clock.Elapsed.TotalSeconds);
        }

        /// <summary>CPU samples of node <paramref name="index"/>'s process (see <see cref="PerfProfile"/>).</summary>
        public async Task ProfileNodeAsync(int index, TimeSpan duration, string directory, string name, CancellationToken cancellationToken)
        {
            string container = _containers.First(c => c.EndsWith($"-node-{index + 1}", StringComparison.Ordinal));
            await PerfProfile.RecordAsync(await PidAsync(container, cancellationToken), duration, directory, name, cancellationToken);
        }

        /// <summary>The host's pid of a container's process.</summary>
        private async Task<int> PidAsync(string container, CancellationToken cancellationToken) =>
            int.Parse((await Podman(["inspect", "--format", "{{.State.Pid}}", container], cancellationToken)).Trim(), CultureInfo.InvariantCulture);

        // USER_HZ, 100 on Linux.
        private const double TicksPerSecond = 100;

        /// <summary>utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat, after the name in parentheses).</summary>
        private static long Ticks(int pid) => Ticks($"/proc/{pid}/stat");

        /// <summary>utime + stime in a stat file of /proc (a process's or a thread's).</summary>
        private static long Ticks(string statFile)
        {
            string stat = File.ReadAllText(statFile);
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }

        public async ValueTask DisposeAsync()
        {
            if (_containers.Count > 0)
            {
                await HostCommand.RunAsync("podman", ["rm", "-f", "-t", "0", .. _containers], TimeSpan.FromMinutes(2));
            }

            if (_network is not null)
            {
                await HostCommand.RunAsync("podman", ["network", "rm", "-f", _network], TimeSpan.FromMinutes(1));
            }
        }

        private static async Task<bool> ReadyAsync(HttpClient http, List<Uri> gateways, int nodes, CancellationToken cancellationToken)
        {
            foreach (Uri gateway in gateways)
            {
                if (!(await http.GetAsync(new Uri(gateway, "/readyz"), cancellationToken)).IsSuccessStatusCode)
                {
                    return false;
                }

                List<JsonElement> ranges = (await http.GetFromJsonAsync<List<JsonElement>>(new Uri(gateway, "/v1/cluster/ranges"), cancellationToken))!;
                if (ranges.Select(r => r.GetProperty("leader").GetString()).Distinct().Count() < nodes)
                {
                    return false;
                }
            }

            return true;
        }

        private static async Task<string> Podman(IEnumerable<string> args, CancellationToken cancellationToken) =>
            await HostCommand.RunCheckedAsync("podman", args, TimeSpan.FromMinutes(2), cancellationToken: cancellationToken);

        private async Task RunAsync(string name, string address, string? cpus, List<string> env, string image, string app, CancellationToken cancellationToken)
        {
            var args = new List<string> { "run", "-d", "--name", name, "--network", _network!, "--ip", address, "--entrypoint", "/usr/share/dotnet/dotnet" };
            if (cpus is not null)
            {
                args.AddRange(["--cpus", cpus]);
            }

            foreach (string e in env)
            {
                args.AddRange(["-e", e]);
            }

            args.AddRange([image, app]);
            await Podman(args, cancellationToken);
            _containers.Add(name);
        }
    }
}
