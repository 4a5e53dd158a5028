using System.Text.Json;
using StemeDb.Client.Tests;
using StemeDb.Testing;

namespace StemeDb.Cli.Tests;

/// <summary>The stemedb tool against the embedded cluster: each command, its output forms, bad input and the exit codes.</summary>
public sealed class CliTests(EmbeddedCluster cluster) : IClassFixture<EmbeddedCluster>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("stemedb-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<CliRun> Run(params string[] args) => CliRun.RunAsync(cluster.Gateway, args);

    [Fact]
    public async Task Put_get_and_retract_round_trip_with_their_exit_codes()
    {
        string subject = "cli:" + Guid.NewGuid().ToString("N");
        CliRun put = await Run("put", subject, "name", "Ada", "--source", "cli-test");
        Assert.True(put.ExitCode == 0, put.ToString());
        string id = put.Out.Trim();
        Assert.Matches("^[0-9a-f]{64}$", id);
        CliRun again = await Run("put", subject, "name", "Ada", "--source", "cli-test", "--json");
        Assert.Equal(0, again.ExitCode);
        using (JsonDocument written = JsonDocument.Parse(again.Out))
        {
            Assert.Equal(id, written.RootElement.GetProperty("ids")[0].GetString());
            Assert.Equal(0, written.RootElement.GetProperty("stored").GetInt32());
        }

        Assert.Equal(0, (await Run("put", subject, "age", "36")).ExitCode);
        Assert.Equal(0, (await Run("put", subject, "code", "36", "--string")).ExitCode);

        CliRun table = await Run("get", subject);
        Assert.Equal(0, table.ExitCode);
        Assert.StartsWith("ID", table.Out, StringComparison.Ordinal);
        Assert.Contains(id, table.Out, StringComparison.Ordinal);
        CliRun json = await Run("get", subject, "--json");
        using (JsonDocument read = JsonDocument.Parse(json.Out))
        {
            var byPredicate = read.RootElement.EnumerateArray().ToDictionary(a => a.GetProperty("predicate").GetString()!, a => a.GetProperty("object"));
            Assert.Equal(JsonValueKind.String, byPredicate["name"].ValueKind);
            Assert.Equal(JsonValueKind.Number, byPredicate["age"].ValueKind); // valid JSON is taken as JSON
            Assert.Equal(JsonValueKind.String, byPredicate["code"].ValueKind); // unless --string
        }

        CliRun retract = await Run("retract", subject, id);
        Assert.True(retract.ExitCode == 0, retract.ToString());
        CliRun none = await Run("get", subject, "--predicate", "name");
        Assert.Equal(ExitCodes.NotFound, none.ExitCode);
        Assert.Equal("", none.Out);
        CliRun history = await Run("get", subject, "-p", "name", "--history");
        Assert.Equal(0, history.ExitCode);
        Assert.Contains("RETRACTED", history.Out, StringComparison.Ordinal);

        CliRun missing = await Run("retract", subject, new string('b', 64));
        Assert.Equal(ExitCodes.NotFound, missing.ExitCode);
        Assert.Single(missing.ErrorLines);
        Assert.StartsWith("stemedb: 404", missing.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ExitCodes.Refused, "stemedb: 400 Invalid assertion", "put", "s", "p", "1", "--confidence", "2")]
    [InlineData(ExitCodes.Refused, "stemedb: 400 Invalid subject", "get", "")]
    [InlineData(ExitCodes.Refused, "stemedb: 400 Invalid id", "retract", "s", "not-an-id")]
    [InlineData(ExitCodes.Usage, "stemedb: Unrecognized command or argument 'frobnicate'", "frobnicate")]
    [InlineData(ExitCodes.Usage, "stemedb: Required argument missing", "put", "s")]
    [InlineData(ExitCodes.Usage, "stemedb: Cannot parse argument 'x' for option '--confidence'", "put", "s", "p", "o", "--confidence", "x")]
    [InlineData(ExitCodes.Usage, "stemedb: --gateway must be an http:// or https:// address", "members", "--gateway", "ftp://x")]
    [InlineData(ExitCodes.Usage, "stemedb: --batch-size must be from 1 to 1000", "import", "--batch-size", "0")]
    [InlineData(ExitCodes.Usage, "stemedb: Could not find", "import", "/nonexistent/file.jsonl")]
    public async Task Bad_input_is_one_line_on_stderr_and_its_exit_code(int code, string line, params string[] args)
    {
        CliRun run = await Run(args);
        Assert.True(run.ExitCode == code, run.ToString());
        string only = Assert.Single(run.ErrorLines);
        Assert.StartsWith(line, only, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gateway_that_is_not_there_is_unavailable_and_the_environment_names_the_gateway()
    {
        var nowhere = new Uri($"http://127.0.0.1:{FreePorts.Tcp()}/");
        CliRun run = await CliRun.RunAsync(nowhere, ["members"]);
        Assert.Equal(ExitCodes.Unavailable, run.ExitCode);
        Assert.StartsWith($"stemedb: cannot reach the gateway at {nowhere}", Assert.Single(run.ErrorLines), StringComparison.Ordinal);

        // --gateway wins over STEMEDB_GATEWAY.
        CliRun flag = await CliRun.RunAsync(nowhere, ["members", "--gateway", cluster.Gateway.ToString()]);
        Assert.Equal(0, flag.ExitCode);
    }

    [Fact]
    public async Task Status_members_and_ranges_show_the_cluster_as_tables_and_json()
    {
        CliRun status = await Run("status");
        Assert.True(status.ExitCode == 0, status.ToString());
        Assert.Contains("members:  3 alive of 3", status.Out, StringComparison.Ordinal);
        using (JsonDocument json = JsonDocument.Parse((await Run("status", "--json")).Out))
        {
            Assert.True(json.RootElement.GetProperty("ready").GetBoolean());
            Assert.Equal(3, json.RootElement.GetProperty("leadersByNode").EnumerateObject().Count());
        }

        CliRun members = await Run("members");
        string[] lines = members.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ID", lines[0], StringComparison.Ordinal);
        Assert.Equal(3, lines.Skip(1).Count(l => l.StartsWith("stemedb-node-", StringComparison.Ordinal) && l.Contains("alive", StringComparison.Ordinal)));
        using (JsonDocument json = JsonDocument.Parse((await Run("members", "--json")).Out))
        {
            Assert.Equal(3, json.RootElement.GetArrayLength());
        }

        using (JsonDocument json = JsonDocument.Parse((await Run("ranges", "--json")).Out))
        {
            Assert.Equal(4096, json.RootElement.EnumerateArray().Sum(r => r.GetProperty("endShard").GetInt32() - r.GetProperty("startShard").GetInt32()));
        }

        Assert.Contains("LEADER", (await Run("ranges")).Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Import_reports_bad_lines_by_number_imports_the_rest_and_exits_3()
    {
        string prefix = "imp:" + Guid.NewGuid().ToString("N") + ":";
        string file = Path.Combine(_dir, "in.jsonl");
        string[] lines =
        [
            Line(prefix + "0", 0),
            "{not json",
            Line(prefix + "2", 2),
            "",
            "{\"subject\":\"" + prefix + "4\",\"predicate\":\"n\",\"object\":4,\"confidence\":7}",
            Line(prefix + "5", 5),
            "[1,2]",
            Line(prefix + "7", 7),
            "{\"subject\":\"" + prefix + "8\",\"predicate\":\"n\",\"object\":8,\"colour\":\"red\"}",
            Line(prefix + "9", 9),
        ];
        await File.WriteAllLinesAsync(file, lines);
        CliRun run = await Run("import", file, "--batch-size", "2");
        Assert.True(run.ExitCode == ExitCodes.Refused, run.ToString());
        Assert.Equal(["line 2: ", "line 5: ", "line 7: ", "line 9: "], run.ErrorLines.Select(l => l[..(l.IndexOf(':', StringComparison.Ordinal) + 2)]));
        Assert.Contains("confidence", run.ErrorLines[1], StringComparison.Ordinal);
        Assert.Contains("colour", run.ErrorLines[3], StringComparison.Ordinal);
        Assert.Contains("imported 5 assertions (5 new) from 10 lines; 4 bad lines", run.Out, StringComparison.Ordinal);
        foreach (int i in new[] { 0, 2, 5, 7, 9 })
        {
            Assert.Equal(0, (await Run("get", prefix + i)).ExitCode);
        }

        // --strict: the first bad line ends it; nothing after it is sent.
        string strictPrefix = "strict:" + Guid.NewGuid().ToString("N") + ":";
        CliRun strict = await CliRun.RunAsync(cluster.Gateway, ["import", "--strict", "--batch-size", "1", "--json"], stdin: string.Join('\n', Line(strictPrefix + "0", 0), "oops", Line(strictPrefix + "2", 2)));
        Assert.Equal(ExitCodes.Refused, strict.ExitCode);
        using (JsonDocument summary = JsonDocument.Parse(strict.Out))
        {
            Assert.True(summary.RootElement.GetProperty("stopped").GetBoolean());
            Assert.Equal(2, summary.RootElement.GetProperty("bad")[0].GetProperty("line").GetInt64());
            Assert.Equal(1, summary.RootElement.GetProperty("imported").GetInt64());
        }

        Assert.Equal(ExitCodes.NotFound, (await Run("get", strictPrefix + "2")).ExitCode);

        // From stdin, all good: exit 0.
        CliRun clean = await CliRun.RunAsync(cluster.Gateway, ["import", "-"], stdin: string.Join('\n', Enumerable.Range(0, 25).Select(i => Line(prefix + "s" + i, i))));
        Assert.True(clean.ExitCode == 0, clean.ToString());
        Assert.Contains("imported 25 assertions (25 new) from 25 lines; 0 bad lines", clean.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task As_a_process_an_error_is_one_line_and_an_exit_code_never_a_stack_trace()
    {
        // The tool as built in its own folder (with its own runtimeconfig and dependencies), in this test's configuration.
        string configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string dll = Path.Combine(RepositoryRoot.Find(), "src", "StemeDb.Cli", "bin", configuration, "net10.0", "stemedb.dll");
        HostCommand.Result unreachable = await HostCommand.RunAsync("dotnet", [dll, "status", "--gateway", $"http://127.0.0.1:{FreePorts.Tcp()}"], TimeSpan.FromSeconds(60));
        Assert.Equal(ExitCodes.Unavailable, unreachable.ExitCode);
        Assert.Single(unreachable.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        HostCommand.Result usage = await HostCommand.RunAsync("dotnet", [dll, "put"], TimeSpan.FromSeconds(60));
        Assert.Equal(ExitCodes.Usage, usage.ExitCode);
        Assert.Single(usage.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        HostCommand.Result put = await HostCommand.RunAsync("dotnet", [dll, "put", "proc:" + Guid.NewGuid(), "p", "{\"a\":1}"], TimeSpan.FromSeconds(60), environment: new Dictionary<string, string> { ["STEMEDB_GATEWAY"] = cluster.Gateway.ToString() });
        Assert.True(put.ExitCode == 0, put.Stderr);
        Assert.Matches("^[0-9a-f]{64}\n$", put.Stdout);
        Assert.DoesNotContain("   at ", unreachable.Stderr + usage.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_prints_the_members_as_json_lines_and_ctrl_c_ends_it_with_0()
    {
        var output = new StringWriter();
        TextWriter shared = TextWriter.Synchronized(output);
        var console = new CliConsole(shared, TextWriter.Synchronized(new StringWriter()), new StringReader(""), name => name == "STEMEDB_GATEWAY" ? cluster.Gateway.ToString() : null, ErrorIsTerminal: false, TimeProvider.System);
        using var stop = new CancellationTokenSource();
        Task<int> watch = CliApp.RunAsync(["watch", "--json"], console, stop.Token);
        string[] Lines()
        {
            lock (shared) // the synchronized writer locks itself while it writes
            {
                return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        await Poll.UntilAsync(() => Lines().Length >= 3 || watch.IsCompleted, TimeSpan.FromSeconds(60), "the watch prints the three members");
        await stop.CancelAsync(); // what Ctrl+C does through Program
        Assert.Equal(ExitCodes.Ok, await watch.WaitAsync(TimeSpan.FromSeconds(30)));
        string[] members = [.. Lines().Select(l => JsonDocument.Parse(l).RootElement).Select(e => e.GetProperty("memberId").GetString()!).Order()];
        Assert.Equal(["stemedb-node-1", "stemedb-node-2", "stemedb-node-3"], members);
    }

    private static string Line(string subject, int n) => JsonSerializer.Serialize(new { subject, predicate = "n", @object = n });
}
