using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using StemeDb.Client;

namespace StemeDb.Cli.Commands;

/// <summary><c>stemedb put SUBJECT PREDICATE OBJECT</c>: writes one assertion and prints its id.</summary>
public static class PutCommand
{
    public static Command Create(GlobalOptions options, CliConsole console)
    {
        var subject = new Argument<string>("subject") { Description = "The subject (any UTF-8 text of 1 to 1024 bytes)" };
        var predicate = new Argument<string>("predicate") { Description = "The predicate (1 to 256 bytes)" };
        var value = new Argument<string>("object") { Description = "The object: read as JSON when it is valid JSON (36, true, {\"a\":1}, \"quoted\"), else taken as a string (Ada)" };
        var asString = new Option<bool>("--string") { Description = "Take the object as a string even when it is valid JSON (\"36\" stays text)" };
        var source = new Option<string?>("--source") { Description = "Where the assertion comes from (part of its id)" };
        var confidence = new Option<double?>("--confidence") { Description = "A confidence from 0 to 1 (part of its id)" };
        var command = new Command("put", "Write one assertion; prints its id once a write quorum stored it. Writing the same assertion again gives the same id.")
        {
            subject, predicate, value, asString, source, confidence,
        };
        return command.Runs(options, console, async (parse, context, cancellationToken) =>
        {
            string text = parse.GetRequiredValue(value);
            JsonElement obj = parse.GetValue(asString) ? JsonSerializer.SerializeToElement(text) : ObjectOf(text);
            var assertion = new NewAssertion(parse.GetRequiredValue(subject), parse.GetRequiredValue(predicate), obj, parse.GetValue(source), parse.GetValue(confidence));
            WriteResult written = await context.Client.WriteAsync(assertion, cancellationToken).ConfigureAwait(false);
            if (context.Json)
            {
                Output.Json(console.Out, written);
            }
            else
            {
                console.Out.WriteLine(written.Ids[0]);
                console.Error.WriteLine(written.Stored == 1 ? "stored" : "already stored (same content, same id)");
            }

            return ExitCodes.Ok;
        });
    }

    /// <summary>The object as JSON when the text is a JSON value, else the text as a JSON string.</summary>
    internal static JsonElement ObjectOf(string text)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(text);
        }
    }

    internal static string Show(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    internal static string Show(double? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "";
}
