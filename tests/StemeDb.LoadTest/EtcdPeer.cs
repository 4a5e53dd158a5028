using System.Diagnostics;
using System.Text.Json;
using StemeDb.Testing;

namespace StemeDb.LoadTest;

/// <summary>
/// A real 3-member etcd cluster on loopback (Debian's <c>etcd-server</c>), each member with its own data
/// directory and etcd's defaults (fsync on every batch): the peer the load comparison measures this
/// cluster against in the same run. Its v3 API is reached through etcd's JSON gateway
/// (<c>POST /v3/kv/put</c>, <c>POST /v3/kv/range</c>, linearizable by default), over HTTP like the gateway.
/// </summary>
public sealed class EtcdPeer : IAsyncDisposable
{
    private readonly List<Process> _members = [];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "stemedb-etcd-" + Guid.NewGuid().ToString("N")[..8]);

    private EtcdPeer()
    {
    }

    /// <summary>The members' client URLs: load goes to all of them, as etcd's own benchmark does.</summary>
    public List<Uri> ClientUrls { get; } = [];

    /// <summary>Where etcd is, or null with the reason when it is not installed.</summary>
    public static string? Missing()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
        {
            if (File.Exists(Path.Combine(dir, "etcd")))
            {
                return null;
            }
        }

        return "etcd is not installed: apt-get install etcd-server (Debian's etcd 3.4)";
    }

    public static async Task<EtcdPeer> StartAsync(CancellationToken cancellationToken)
    {
        var peer = new EtcdPeer();
        try
        {
            int[] clientPorts = [FreePorts.Tcp(), FreePorts.Tcp(), FreePorts.Tcp()];
            int[] peerPorts = [FreePorts.Tcp(), FreePorts.Tcp(), FreePorts.Tcp()];
            string cluster = string.Join(',', Enumerable.Range(0, 3).Select(i => $"m{i}=http://127.0.0.1:{peerPorts[i]}"));
            for (int i = 0; i < 3; i++)
            {
                var start = new ProcessStartInfo("etcd")
                {
                    ArgumentList =
                    {
                        "--name", $"m{i}",
                        "--data-dir", Path.Combine(peer._root, $"m{i}"),
                        "--listen-client-urls", $"http://127.0.0.1:{clientPorts[i]}",
                        "--advertise-client-urls", $"http://127.0.0.1:{clientPorts[i]}",
                        "--listen-peer-urls", $"http://127.0.0.1:{peerPorts[i]}",
                        "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPorts[i]}",
                        "--initial-cluster", cluster,
                        "--initial-cluster-state", "new",
                        "--initial-cluster-token", "stemedb-bench",
                        "--log-level", "error",
                    },
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                Process member = Process.Start(start)!;
                member.OutputDataReceived += (_, _) => { };
                member.ErrorDataReceived += (_, _) => { };
                member.BeginOutputReadLine();
                member.BeginErrorReadLine();
                peer._members.Add(member);
                peer.ClientUrls.Add(new Uri($"http://127.0.0.1:{clientPorts[i]}"));
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var clock = Stopwatch.StartNew();
            while (!await HealthyAsync(http, peer.ClientUrls, cancellationToken))
            {
                if (clock.Elapsed > TimeSpan.FromSeconds(30) || peer._members.Any(m => m.HasExited))
                {
                    throw new InvalidOperationException("the etcd cluster did not become healthy within 30 s");
                }

                await Task.Delay(200, cancellationToken);
            }

            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (Process member in _members)
        {
            try
            {
                member.Kill();
                await member.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
            }

            member.Dispose();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static async Task<bool> HealthyAsync(HttpClient http, List<Uri> members, CancellationToken cancellationToken)
    {
        foreach (Uri member in members)
        {
            try
            {
                using JsonDocument health = JsonDocument.Parse(await http.GetStringAsync(new Uri(member, "/health"), cancellationToken));
                if (health.RootElement.GetProperty("health").GetString() != "true")
                {
                    return false;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>What <c>etcd --version</c> says its version is ("etcd 3.4.23"), for the report.</summary>
    public static string Version()
    {
        using Process etcd = Process.Start(new ProcessStartInfo("etcd", "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
        string first = etcd.StandardOutput.ReadLine() ?? "";
        etcd.WaitForExit();
        return first.Replace("etcd Version:", "etcd", StringComparison.Ordinal).Trim();
    }
}
