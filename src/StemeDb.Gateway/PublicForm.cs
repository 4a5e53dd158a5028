using System.Buffers;
using System.Text.Json;
using StemeDb.Cluster.Time;

namespace StemeDb.Gateway;

/// <summary>
/// Turns a node's list of assertions into the public form in one pass over the UTF-8 bytes: every value
/// is copied as it is, except the packed HLC times, which become ISO 8601 instants. Before, the gateway
/// built a string, a DOM per assertion and a second object graph only to write the same JSON again.
/// The field names and order are the ones <see cref="PublicAssertion"/> declares.
/// </summary>
internal static class PublicForm
{
    /// <summary>False when the answer is not a list of assertion objects (the gateway answers 502).</summary>
    public static bool TryRewrite(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        try
        {
            return Rewrite(json, output);
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false; // a value of an unexpected kind
        }
    }

    private static bool Rewrite(ReadOnlySpan<byte> json, IBufferWriter<byte> output)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        using var writer = new Utf8JsonWriter(output);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }

        writer.WriteStartArray();
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                writer.WriteEndArray();
                writer.Flush();
                return !reader.Read(); // nothing may follow the list
            }

            if (reader.TokenType != JsonTokenType.StartObject || !RewriteAssertion(ref reader, json, writer))
            {
                return false;
            }
        }

        return false;
    }

    private static bool RewriteAssertion(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, Utf8JsonWriter writer)
    {
        bool hasId = false;
        bool hasTime = false;
        writer.WriteStartObject();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool asserted = reader.ValueTextEquals("assertedAt"u8);
            if (asserted || reader.ValueTextEquals("retractedAt"u8))
            {
                writer.WritePropertyName(asserted ? "assertedAt"u8 : "retractedAt"u8);
                reader.Read();
                if (reader.TokenType == JsonTokenType.Null && !asserted)
                {
                    writer.WriteNullValue();
                }
                else if (reader.TokenType == JsonTokenType.Number && reader.TryGetUInt64(out ulong packed))
                {
                    writer.WriteStringValue(HlcTimestamp.FromPacked(packed).ToDateTimeOffset());
                }
                else
                {
                    return false;
                }

                hasTime |= asserted;
                continue;
            }

            bool isId = reader.ValueTextEquals("id"u8);
            writer.WritePropertyName(reader.GetString()!);
            reader.Read();
            if (isId)
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    return false;
                }

                hasId = true;
            }

            // The value, whatever it is (the assertion's object can be any JSON), copied byte for byte.
            int start = (int)reader.TokenStartIndex;
            reader.Skip();
            writer.WriteRawValue(json[start..(int)reader.BytesConsumed], skipInputValidation: true);
        }

        if (reader.TokenType != JsonTokenType.EndObject || !hasId || !hasTime)
        {
            return false;
        }

        writer.WriteEndObject();
        return true;
    }
}
