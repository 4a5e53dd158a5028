using System.CommandLine;
using System.Globalization;
using StemeDb.Contracts.Wire;

namespace StemeDb.Cli.Commands;

/// <summary><c>stemedb watch</c>: membership events as they happen (the current view first), until Ctrl+C.</summary>
public static class WatchCommand
{
    public static Command Create(GlobalOptions options, CliConsole console) =>
        new Command("watch", "Membership events as they happen, the current members first, until Ctrl+C (exit 0). Reconnects by itself after a disconnect; --json writes one JSON event per line.")
            .Runs(options, console, async (_, context, cancellationToken) =>
            {
                try
                {
                    await foreach (MembershipEventDto e in context.Client.WatchMembershipAsync(cancellationToken: cancellationToken).ConfigureAwait(false))
                    {
                        console.Out.WriteLine(context.Json
                            ? Output.JsonLine(e)
                            : $"{e.Time.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}  {e.Kind,-7}  {e.MemberId}  {e.State} (incarnation {e.Incarnation}, {e.HttpAddress})  seen by {e.ObservedBy}");
                        await console.Out.FlushAsync(cancellationToken).ConfigureAwait(false); // a pipe sees each event when it happens
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Ctrl+C is how a watch ends.
                }

                return ExitCodes.Ok;
            });
}
