using System.Buffers;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace StemeDb.Contracts.Wire;

/// <summary>
/// One call of a batch (<see cref="InternalRoutes.Batch"/>): the internal route it would have been sent to
/// alone, its JSON body, and the caller's W3C <c>traceparent</c>, so its work stays in the caller's trace.
/// </summary>
public sealed record BatchCall(string Route, JsonElement Body, [property: JsonPropertyName("traceparent")] string? TraceParent)
{
    /// <summary>Writes <c>{"calls": [...]}</c>; each body is JSON as it would have been sent alone.</summary>
    public static void WriteBatch(Utf8JsonWriter writer, IEnumerable<(string Route, byte[] Body, string? TraceParent)> calls)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(calls);
        writer.WriteStartObject();
        writer.WriteStartArray("calls");
        foreach ((string route, byte[] body, string? traceParent) in calls)
        {
            writer.WriteStartObject();
            writer.WriteString("route", route);
            writer.WritePropertyName("body");
            writer.WriteRawValue(body);
            if (traceParent is not null)
            {
                writer.WriteString("traceparent", traceParent);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}

/// <summary>
/// One call's answer in a batch, as it would have come alone: status, content type and body, with the
/// call's index. Answers stream back one JSON line each (<see cref="ContentType"/>), as each call finishes, so
/// a slow call holds up no other. A JSON body travels as JSON (its bytes unchanged), any other as text.
/// </summary>
public sealed record BatchAnswer(int Index, int Status, string? ContentType, byte[] Body)
{
    /// <summary>The content type of a batch's answer: JSON lines.</summary>
    public const string StreamContentType = "application/x-ndjson";

    /// <summary>Writes this answer as one line (a JSON object, then a line feed).</summary>
    public void WriteLine(Utf8JsonWriter writer, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(output);
        writer.Reset(output);
        writer.WriteStartObject();
        writer.WriteNumber("index", Index);
        writer.WriteNumber("status", Status);
        if (ContentType is not null)
        {
            writer.WriteString("contentType", ContentType);
        }

        if (Body.Length > 0)
        {
            // A line must hold no line feed: JSON holds one only as white space, so such a body goes as text.
            if (IsJson(ContentType) && Body.AsSpan().IndexOfAny((byte)'\n', (byte)'\r') < 0)
            {
                writer.WritePropertyName("body");
                writer.WriteRawValue(Body);
            }
            else
            {
                writer.WriteString("text", Encoding.UTF8.GetString(Body));
            }
        }

        writer.WriteEndObject();
        writer.Flush();
        output.Write("\n"u8);
    }

    /// <summary>One answer line; null when it is not one.</summary>
    public static BatchAnswer? ReadLine(ReadOnlyMemory<byte> line)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(line, new JsonDocumentOptions { MaxDepth = 128 });
            JsonElement a = document.RootElement;
            if (a.ValueKind != JsonValueKind.Object
                || !a.TryGetProperty("index", out JsonElement index) || !index.TryGetInt32(out int i)
                || !a.TryGetProperty("status", out JsonElement status) || !status.TryGetInt32(out int code))
            {
                return null;
            }

            string? contentType = a.TryGetProperty("contentType", out JsonElement type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null;
            byte[] body = a.TryGetProperty("body", out JsonElement json) ? JsonMarshal.GetRawUtf8Value(json).ToArray()
                : a.TryGetProperty("text", out JsonElement text) && text.ValueKind == JsonValueKind.String ? Encoding.UTF8.GetBytes(text.GetString()!)
                : [];
            return new BatchAnswer(i, code, contentType, body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsJson(string? contentType) => contentType is not null && contentType.Contains("json", StringComparison.OrdinalIgnoreCase);
}
