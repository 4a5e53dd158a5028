using System.CommandLine;
using StemeDb.Client;
using StemeDb.Contracts.Wire;

namespace StemeDb.Cli.Commands;

/// <summary><c>stemedb status</c>: is the gateway ready, how many members are alive, how many ranges and who leads them.</summary>
public static class StatusCommand
{
    public sealed record Status(string Gateway, bool Ready, int MembersAlive, int Members, int Ranges, IReadOnlyDictionary<string, int> LeadersByNode);

    public static Command Create(GlobalOptions options, CliConsole console) =>
        new Command("status", "Whether the gateway is ready; members alive; ranges and how many each node leads. Exit 4 when not ready.")
            .Runs(options, console, async (_, context, cancellationToken) =>
            {
                bool ready = await context.Client.IsReadyAsync(cancellationToken).ConfigureAwait(false);
                IReadOnlyList<MemberDto> members = await context.Client.GetMembersAsync(cancellationToken).ConfigureAwait(false);
                IReadOnlyList<RangeInfo> ranges = ready ? await context.Client.GetRangesAsync(cancellationToken).ConfigureAwait(false) : [];
                var status = new Status(
                    context.Gateway.ToString(),
                    ready,
                    members.Count(m => m.State == "alive"),
                    members.Count,
                    ranges.Count,
                    ranges.Where(r => r.Leader is not null).GroupBy(r => r.Leader!).OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count()));
                if (context.Json)
                {
                    Output.Json(console.Out, status);
                }
                else
                {
                    console.Out.WriteLine($"gateway:  {status.Gateway} ({(ready ? "ready" : "not ready")})");
                    console.Out.WriteLine($"members:  {status.MembersAlive} alive of {status.Members}");
                    console.Out.WriteLine($"ranges:   {status.Ranges}" + (status.LeadersByNode.Count == 0 ? "" : " (leaders: " + string.Join(", ", status.LeadersByNode.Select(p => $"{p.Key} {p.Value}")) + ")"));
                }

                return ready ? ExitCodes.Ok : ExitCodes.Unavailable;
            });
}
