using System.CommandLine;
using System.Globalization;
using StemeDb.Contracts.Wire;

namespace StemeDb.Cli.Commands;

/// <summary><c>stemedb members</c>: the members as the gateway knows them.</summary>
public static class MembersCommand
{
    public static Command Create(GlobalOptions options, CliConsole console) =>
        new Command("members", "The cluster's members: id, SWIM state, incarnation, app-id, HTTP and SWIM addresses.")
            .Runs(options, console, async (_, context, cancellationToken) =>
            {
                List<MemberDto> members = [.. (await context.Client.GetMembersAsync(cancellationToken).ConfigureAwait(false)).OrderBy(m => m.Id, StringComparer.Ordinal)];
                if (context.Json)
                {
                    Output.Json(console.Out, members);
                }
                else
                {
                    Output.Table(console.Out, ["ID", "STATE", "INCARNATION", "APP-ID", "HTTP", "SWIM"], members.Select(m => (IReadOnlyList<string>)
                        [m.Id, m.State, m.Incarnation.ToString(CultureInfo.InvariantCulture), m.AppId, m.HttpAddress, m.SwimAddress]));
                }

                return ExitCodes.Ok;
            });
}
