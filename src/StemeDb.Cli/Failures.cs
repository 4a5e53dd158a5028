using System.Text.Json;
using StemeDb.Client;

namespace StemeDb.Cli;

/// <summary>An exception turned into one line on stderr and the exit code its kind promises; never a stack trace.</summary>
public static class Failures
{
    public static int Report(Exception failure, CliConsole console, Uri? gateway)
    {
        ArgumentNullException.ThrowIfNull(failure);
        ArgumentNullException.ThrowIfNull(console);
        (int code, string message) = failure switch
        {
            UsageException e => (ExitCodes.Usage, e.Message),
            StemeDbNotFoundException e => (ExitCodes.NotFound, Describe(e)),
            StemeDbInvalidInputException e => (ExitCodes.Refused, Describe(e)),
            StemeDbUnavailableException e => (ExitCodes.Unavailable, Describe(e)),
            StemeDbTimeoutException e => (ExitCodes.Unavailable, Describe(e)),
            StemeDbProblemException { Status: >= 400 and < 500 } e => (ExitCodes.Refused, Describe(e)),
            StemeDbProblemException e => (ExitCodes.Unavailable, Describe(e)),
            HttpRequestException e => (ExitCodes.Unavailable, $"cannot reach the gateway at {gateway}: {e.Message}"),
            IOException e => (ExitCodes.Usage, e.Message),
            UnauthorizedAccessException e => (ExitCodes.Usage, e.Message),
            JsonException e => (ExitCodes.Refused, e.Message),
            _ => (ExitCodes.Unavailable, $"unexpected {failure.GetType().Name}: {failure.Message}"),
        };
        console.Error.WriteLine($"stemedb: {OneLine(message)}");
        return code;
    }

    private static string Describe(StemeDbProblemException e) =>
        $"{e.Status} {e.Title}" + (string.IsNullOrWhiteSpace(e.Detail) ? "" : $": {e.Detail}");

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
