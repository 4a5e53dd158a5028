using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using StemeDb.Testing;

namespace StemeDb.EndToEnd.Tests;

/// <summary>
/// StemeDb.Local's command line as a newcomer meets it, with the built app as a process: the README's second
/// process (<c>--seed HOST:PORT</c> and no other flag) joins with free ports it prints; a port in use and a bad
/// flag are one line on stderr and a non-zero exit, never a stack trace.
/// </summary>
public sealed class LocalCommandLineTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stemedb-localcli-").FullName;

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_second_process_with_only_seed_takes_free_ports_prints_them_and_its_nodes_join()
    {
        int swim = FreePorts.UdpRun(3);
        await using AppProcess first = AppProcess.Start("local-1", BuiltApps.Local, new Dictionary<string, string?>(),
            "--swim-base-port", swim.ToString(CultureInfo.InvariantCulture), "--http-base-port", "0", "--gateway-port", "0", "--data-dir", Path.Combine(_dir, "a"));
        string banner = await first.WaitForLineAsync(l => l.StartsWith("gateway: ", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var gateway = new Uri(banner["gateway: ".Length..].Trim());

        // The README's command exactly, but for the seed's port (the first process here does not hold 7946):
        // `dotnet run --project src/StemeDb.Local -- --seed 127.0.0.1:7946`, from a folder of its own (./data).
        string second = Directory.CreateDirectory(Path.Combine(_dir, "b")).FullName;
        await using AppProcess joiner = AppProcess.StartIn(second, "local-2", BuiltApps.Local, new Dictionary<string, string?>(), "--seed", $"127.0.0.1:{swim}");
        await joiner.WaitForLineAsync(l => l.StartsWith("Ctrl+C", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        string[] nodes = [.. joiner.FirstLines.Where(l => l.StartsWith("node ", StringComparison.Ordinal))];
        Assert.Equal(3, nodes.Length);
        // Free ports, none of the first process's defaults; each printed.
        Assert.All(nodes, l => Assert.DoesNotContain(":7946,", l, StringComparison.Ordinal));
        Assert.All(nodes, l => Assert.DoesNotContain(":5001/", l, StringComparison.Ordinal));
        string[] ids = [.. nodes.Select(l => l[5..l.IndexOf(':', StringComparison.Ordinal)])];
        string joinerGateway = joiner.FirstLines.Single(l => l.StartsWith("gateway: ", StringComparison.Ordinal))["gateway: ".Length..].Trim();
        Assert.NotEqual(gateway.ToString(), joinerGateway);
        Assert.True(Directory.Exists(Path.Combine(second, "data", ids[0])), "the joining process keeps its data under ./data of its folder");

        using var http = new HttpClient { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(15) };
        await Poll.UntilAsync(
            async () => (await http.GetFromJsonAsync<List<JsonElement>>("/v1/cluster/members"))!.Count(m => m.GetProperty("state").GetString() == "alive" && ids.Contains(m.GetProperty("id").GetString())) == 3,
            TimeSpan.FromSeconds(60),
            "the first process's gateway sees the second process's three nodes alive",
            step: TimeSpan.FromMilliseconds(250),
            diagnostics: () => Task.FromResult(first.Output + "\n" + joiner.Output),
            retryOn: e => e is HttpRequestException or TaskCanceledException);

        // The second process's own gateway serves the same cluster.
        using var other = new HttpClient { BaseAddress = new Uri(joinerGateway), Timeout = TimeSpan.FromSeconds(15) };
        await joiner.WaitHealthyAsync(new Uri(other.BaseAddress, "/readyz"), TimeSpan.FromSeconds(30));
        using HttpResponseMessage written = await other.PostAsync("/v1/assertions", JsonContent.Create(new { subject = "seeded:1", predicate = "p", @object = 1 }));
        Assert.Equal(HttpStatusCode.OK, written.StatusCode);

        Assert.True(joiner.Terminate(TimeSpan.FromSeconds(20)), joiner.Output);
        Assert.Equal(0, joiner.ExitCode);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_naming_the_port_and_its_flag()
    {
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(IPAddress.Loopback, FreePorts.Udp()));
        int held = ((IPEndPoint)udp.LocalEndPoint!).Port;
        HostCommand.Result swim = await RunLocalAsync("--swim-base-port", Text(held), "--http-base-port", "0", "--gateway-port", "0", "--data-dir", Path.Combine(_dir, "s"));
        AssertOneLine(swim, 1, $"SWIM port 127.0.0.1:{held} (UDP) is in use", "--swim-base-port");

        var tcp = new TcpListener(IPAddress.Loopback, FreePorts.Tcp());
        tcp.Start();
        try
        {
            int port = ((IPEndPoint)tcp.LocalEndpoint).Port;
            HostCommand.Result gateway = await RunLocalAsync("--nodes", "1", "--swim-base-port", Text(FreePorts.Udp()), "--http-base-port", "0", "--gateway-port", Text(port), "--data-dir", Path.Combine(_dir, "g"));
            AssertOneLine(gateway, 1, $"HTTP port {port} is in use", "--gateway-port");
            HostCommand.Result node = await RunLocalAsync("--nodes", "1", "--swim-base-port", Text(FreePorts.Udp()), "--http-base-port", Text(port), "--gateway-port", "0", "--data-dir", Path.Combine(_dir, "n"));
            AssertOneLine(node, 1, $"HTTP port {port} is in use", "--http-base-port");
        }
        finally
        {
            tcp.Stop();
        }
    }

    [Theory]
    [InlineData("--frobnicate")]
    [InlineData("--nodes", "zero")]
    [InlineData("--seed")]
    public async Task A_bad_flag_is_one_line_and_exit_2(params string[] args)
    {
        HostCommand.Result result = await RunLocalAsync(args);
        AssertOneLine(result, 2, $"bad or incomplete argument '{args[0]}'", "--help");
    }

    [Fact]
    public async Task Help_lists_every_option_and_exits_0()
    {
        HostCommand.Result result = await RunLocalAsync("--help");
        Assert.Equal(0, result.ExitCode);
        foreach (string option in new[] { "--nodes", "--no-gateway", "--gateway-port", "--swim-base-port", "--http-base-port", "--seed", "--data-dir", "--help" })
        {
            Assert.Contains(option, result.Stdout, StringComparison.Ordinal);
        }
    }

    private static void AssertOneLine(HostCommand.Result result, int exitCode, string message, string flag)
    {
        string all = result.Stdout + result.Stderr;
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}\n{all}");
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Contains(flag, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal); // no stack trace, on either stream
    }

    private Task<HostCommand.Result> RunLocalAsync(params string[] args) =>
        HostCommand.RunAsync("dotnet", [BuiltApps.Local, .. args], TimeSpan.FromSeconds(90), workingDirectory: _dir);

    private static string Text(int n) => n.ToString(CultureInfo.InvariantCulture);
}
