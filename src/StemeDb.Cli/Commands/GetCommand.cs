using System.CommandLine;
using System.Globalization;
using StemeDb.Client;

namespace StemeDb.Cli.Commands;

/// <summary><c>stemedb get SUBJECT</c>: the subject's assertions; exit 2 when there are none.</summary>
public static class GetCommand
{
    public static Command Create(GlobalOptions options, CliConsole console)
    {
        var subject = new Argument<string>("subject") { Description = "The subject (any subject: it travels as a query value, never in a path)" };
        var predicate = new Option<string?>("--predicate", "-p") { Description = "Only the assertions of this predicate" };
        var history = new Option<bool>("--history") { Description = "Retracted assertions too, with when they were retracted" };
        var command = new Command("get", "The current assertions of a subject (a majority read). Exit 2 when none matches.") { subject, predicate, history };
        return command.Runs(options, console, async (parse, context, cancellationToken) =>
        {
            bool withHistory = parse.GetValue(history);
            IReadOnlyList<AssertionView> found = await context.Client.ReadAsync(parse.GetRequiredValue(subject), parse.GetValue(predicate), withHistory, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                Output.Json(console.Out, found);
            }
            else if (found.Count > 0)
            {
                string[] headers = withHistory
                    ? ["ID", "PREDICATE", "OBJECT", "SOURCE", "CONFIDENCE", "ASSERTED", "RETRACTED"]
                    : ["ID", "PREDICATE", "OBJECT", "SOURCE", "CONFIDENCE", "ASSERTED"];
                Output.Table(console.Out, headers, found.OrderBy(a => a.AssertedAt).Select(a =>
                {
                    List<string> row = [a.Id, a.Predicate, PutCommand.Show(a.Object), a.Source ?? "", PutCommand.Show(a.Confidence), Time(a.AssertedAt)];
                    if (withHistory)
                    {
                        row.Add(a.RetractedAt is { } r ? Time(r) : "");
                    }

                    return (IReadOnlyList<string>)row;
                }));
            }

            return found.Count > 0 ? ExitCodes.Ok : ExitCodes.NotFound;
        });
    }

    private static string Time(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
