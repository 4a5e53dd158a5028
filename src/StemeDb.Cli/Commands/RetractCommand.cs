using System.CommandLine;

namespace StemeDb.Cli.Commands;

/// <summary><c>stemedb retract SUBJECT ID</c>: retracts one assertion; exit 2 when the subject has no such assertion.</summary>
public static class RetractCommand
{
    public static Command Create(GlobalOptions options, CliConsole console)
    {
        var subject = new Argument<string>("subject") { Description = "The subject of the assertion" };
        var id = new Argument<string>("id") { Description = "The assertion's id (64 hex digits, as put or get printed it)" };
        var command = new Command("retract", "Retract an assertion of a subject. Retracting it again is harmless. Exit 2 when the subject has no such assertion.") { subject, id };
        return command.Runs(options, console, async (parse, context, cancellationToken) =>
        {
            string target = parse.GetRequiredValue(id);
            await context.Client.RetractAsync(parse.GetRequiredValue(subject), target, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                Output.Json(console.Out, new { retracted = target });
            }
            else
            {
                console.Out.WriteLine($"retracted {target}");
            }

            return ExitCodes.Ok;
        });
    }
}
