using System.Text.Json;
using StemeDb.Client;
using StemeDb.Contracts;

namespace StemeDb.Cli.Commands;

/// <summary>One line of an import: an assertion as the API takes it (<c>{"subject", "predicate", "object", "source"?, "confidence"?}</c>), checked as the gateway would check it.</summary>
public static class ImportLine
{
    private static readonly HashSet<string> Fields = ["subject", "predicate", "object", "source", "confidence"];

    /// <summary>The assertion of <paramref name="line"/>, or why it is not one.</summary>
    public static (NewAssertion? Assertion, string? Error) Parse(string line)
    {
        JsonElement root;
        try
        {
            using JsonDocument document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 64 });
            root = document.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return (null, $"not JSON ({e.Message})");
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, "not an assertion object");
        }

        var errors = new List<string>();
        foreach (JsonProperty p in root.EnumerateObject().Where(p => !Fields.Contains(p.Name)))
        {
            errors.Add($"{p.Name} is not a field of an assertion (subject, predicate, object, source, confidence)");
        }

        string? subject = Text(root, "subject", errors);
        string? predicate = Text(root, "predicate", errors);
        string? source = Text(root, "source", errors);
        double? confidence = null;
        if (root.TryGetProperty("confidence", out JsonElement c) && c.ValueKind != JsonValueKind.Null)
        {
            if (c.ValueKind == JsonValueKind.Number && c.TryGetDouble(out double value))
            {
                confidence = value;
            }
            else
            {
                errors.Add("confidence must be a number from 0 to 1");
            }
        }

        JsonElement? obj = root.TryGetProperty("object", out JsonElement o) ? o : null;
        if (errors.Count == 0)
        {
            errors.AddRange(AssertionValidator.Validate(subject, predicate, obj, source, confidence).Select(e => $"{e.Field} {e.Message.TrimEnd('.')}"));
        }

        return errors.Count > 0
            ? (null, string.Join("; ", errors))
            : (new NewAssertion(subject!, predicate!, obj!.Value, source, confidence), null);
    }

    private static string? Text(JsonElement item, string name, List<string> errors)
    {
        if (!item.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add($"{name} must be a string");
            return null;
        }

        return value.GetString();
    }
}
