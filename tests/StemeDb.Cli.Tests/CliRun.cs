namespace StemeDb.Cli.Tests;

/// <summary>The tool run in-process through its entry point with its own console; what it printed and its exit code.</summary>
public sealed record CliRun(int ExitCode, string Out, string Error)
{
    /// <summary>The lines written to stderr.</summary>
    public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public static async Task<CliRun> RunAsync(Uri? gateway, string[] args, string stdin = "", IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        Dictionary<string, string> env = new(environment ?? new Dictionary<string, string>());
        if (gateway is not null)
        {
            env.TryAdd("STEMEDB_GATEWAY", gateway.ToString());
        }

        var console = new CliConsole(output, error, new StringReader(stdin), name => env.GetValueOrDefault(name), ErrorIsTerminal: false, TimeProvider.System);
        int code = await CliApp.RunAsync(args, console, cancellationToken);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}
