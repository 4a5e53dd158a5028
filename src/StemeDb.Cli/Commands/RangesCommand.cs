using System.CommandLine;
using System.Globalization;
using StemeDb.Client;

namespace StemeDb.Cli.Commands;

/// <summary><c>stemedb ranges</c>: the range map with leaders and sizes.</summary>
public static class RangesCommand
{
    public static Command Create(GlobalOptions options, CliConsole console) =>
        new Command("ranges", "The ranges: shard span, generation, leader, replicas and the bytes the leader holds.")
            .Runs(options, console, async (_, context, cancellationToken) =>
            {
                List<RangeInfo> ranges = [.. (await context.Client.GetRangesAsync(cancellationToken).ConfigureAwait(false)).OrderBy(r => r.StartShard)];
                if (context.Json)
                {
                    Output.Json(console.Out, ranges);
                }
                else
                {
                    Output.Table(console.Out, ["ID", "SHARDS", "GEN", "LEADER", "REPLICAS", "SIZE"], ranges.Select(r => (IReadOnlyList<string>)
                    [
                        r.Id,
                        $"[{r.StartShard}, {r.EndShard})",
                        r.Generation.ToString(CultureInfo.InvariantCulture),
                        r.Leader ?? "(none live)",
                        string.Join(",", r.Replicas),
                        r.SizeBytes is { } size ? Bytes(size) : "?",
                    ]));
                }

                return ExitCodes.Ok;
            });

    private static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{n / 1024.0:0.#} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{n / (1024.0 * 1024):0.#} MiB"),
    };
}
