namespace StemeDb.Cli;

/// <summary>
/// Where the tool reads and writes, and what it knows of its environment: the process's own in
/// <c>Program</c>, others in tests (the tool runs in-process through <see cref="CliApp.RunAsync"/>).
/// </summary>
/// <param name="Environment">Looks an environment variable up (STEMEDB_GATEWAY, STEMEDB_API_KEY).</param>
/// <param name="ErrorIsTerminal">Whether a person watches stderr: only then is the import's progress line drawn.</param>
public sealed record CliConsole(TextWriter Out, TextWriter Error, TextReader In, Func<string, string?> Environment, bool ErrorIsTerminal, TimeProvider Time)
{
    public static CliConsole Process() => new(Console.Out, Console.Error, Console.In, System.Environment.GetEnvironmentVariable, !Console.IsErrorRedirected, TimeProvider.System);
}
