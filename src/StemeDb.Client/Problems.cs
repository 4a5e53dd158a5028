using System.Text.Json;
using StemeDb.Contracts;

namespace StemeDb.Client;

/// <summary>Turns an answer other than success into the typed exception for its status, from its RFC 7807 body when it has one.</summary>
internal static class Problems
{
    private const int MaxBodyChars = 4096;

    public static async Task<StemeDbProblemException> FromResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        int status = (int)response.StatusCode;
        string? node = response.Headers.TryGetValues(InternalHeaderNames.Node, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;
        string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string title = response.ReasonPhrase ?? "Error";
        string? detail = null;
        string? type = null;
        List<ValidationError>? errors = null;
        try
        {
            using JsonDocument problem = JsonDocument.Parse(body);
            JsonElement root = problem.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                title = Text(root, "title") ?? title;
                detail = Text(root, "detail");
                type = Text(root, "type");
                if (root.TryGetProperty("errors", out JsonElement list) && list.ValueKind == JsonValueKind.Array)
                {
                    errors = [.. list.EnumerateArray()
                        .Where(e => e.ValueKind == JsonValueKind.Object)
                        .Select(e => new ValidationError(Text(e, "field") ?? "", Text(e, "message") ?? ""))];
                }
            }
        }
        catch (JsonException)
        {
            // Not a problem document (a proxy's page, plain text): its text is the detail.
            detail = body.Length == 0 ? null : body.Length > MaxBodyChars ? body[..MaxBodyChars] : body;
        }

        return status switch
        {
            400 or 413 or 415 or 422 => new StemeDbInvalidInputException(status, title, detail, type, node, errors),
            404 => new StemeDbNotFoundException(title, detail, type, node),
            503 => new StemeDbUnavailableException(title, detail, type, node),
            504 => new StemeDbTimeoutException(title, detail, type, node),
            _ => new StemeDbProblemException(status, title, detail, type, node, errors),
        };
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out JsonElement v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
