using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace StemeDb.Contracts;

/// <summary>
/// The canonical form an id is the BLAKE3 hash of. Version 1, byte by byte:
/// <code>
/// "stemedb/assertion/v1" 0x00
/// varint n, n bytes: subject (UTF-8)
/// varint n, n bytes: predicate (UTF-8)
/// varint n, n bytes: object as canonical JSON
/// 0x00 | 0x01 varint n, n bytes: source (UTF-8), absent | present
/// 0x00 | 0x01 8 bytes: confidence (IEEE 754 binary64, big-endian), absent | present
/// </code>
/// Canonical JSON: no whitespace; object members sorted by key (ordinal, UTF-16 code units, as RFC 8785);
/// strings escaped as System.Text.Json's default encoder does; numbers kept as written (so 1 and 1.0 are
/// different objects). Duplicate keys are refused. A retraction is
/// <c>"stemedb/retraction/v1" 0x00, varint n, subject, 32 bytes of the retracted id</c>.
/// Varints are unsigned LEB128. The assertion time is not part of it (see <see cref="Assertion"/>).
/// </summary>
public static class CanonicalForm
{
    private static readonly byte[] AssertionTag = Encoding.ASCII.GetBytes("stemedb/assertion/v1\0");
    private static readonly byte[] RetractionTag = Encoding.ASCII.GetBytes("stemedb/retraction/v1\0");

    internal static byte[] Of(Assertion a)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        buffer.Write(AssertionTag);
        WriteString(buffer, a.Subject);
        WriteString(buffer, a.Predicate);
        WriteBytes(buffer, CanonicalJson(a.Object));
        if (a.Source is null)
        {
            WriteByte(buffer, 0);
        }
        else
        {
            WriteByte(buffer, 1);
            WriteString(buffer, a.Source);
        }

        if (a.Confidence is null)
        {
            WriteByte(buffer, 0);
        }
        else
        {
            WriteByte(buffer, 1);
            BinaryPrimitives.WriteDoubleBigEndian(buffer.GetSpan(8), a.Confidence.Value);
            buffer.Advance(8);
        }

        return buffer.WrittenSpan.ToArray();
    }

    internal static byte[] OfRetraction(string subject, AssertionId target)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        buffer.Write(RetractionTag);
        WriteString(buffer, subject);
        buffer.Write(target.Span);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The object as canonical JSON bytes.</summary>
    public static byte[] CanonicalJson(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, SkipValidation = false }))
        {
            Write(writer, value);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads an assertion back from its canonical bytes; false when they are not version-1 canonical.</summary>
    internal static bool TryDecode(ReadOnlySpan<byte> canonical, Cluster.Time.HlcTimestamp assertedAt, out Assertion? assertion)
    {
        assertion = null;
        if (!canonical.StartsWith(AssertionTag))
        {
            return false;
        }

        ReadOnlySpan<byte> rest = canonical[AssertionTag.Length..];
        if (!TryReadBytes(ref rest, out ReadOnlySpan<byte> subject) || !TryReadBytes(ref rest, out ReadOnlySpan<byte> predicate)
            || !TryReadBytes(ref rest, out ReadOnlySpan<byte> json) || rest.IsEmpty)
        {
            return false;
        }

        string? source = null;
        byte hasSource = rest[0];
        rest = rest[1..];
        if (hasSource == 1)
        {
            if (!TryReadBytes(ref rest, out ReadOnlySpan<byte> s))
            {
                return false;
            }

            source = Encoding.UTF8.GetString(s);
        }

        if (rest.IsEmpty)
        {
            return false;
        }

        double? confidence = null;
        byte hasConfidence = rest[0];
        rest = rest[1..];
        if (hasConfidence == 1)
        {
            if (rest.Length < 8)
            {
                return false;
            }

            confidence = BinaryPrimitives.ReadDoubleBigEndian(rest);
            rest = rest[8..];
        }

        if (!rest.IsEmpty || !Utf8.IsValid(subject) || !Utf8.IsValid(predicate))
        {
            return false;
        }

        using JsonDocument document = JsonDocument.Parse(json.ToArray());
        assertion = Assertion.FromStored(Encoding.UTF8.GetString(subject), Encoding.UTF8.GetString(predicate), document.RootElement, source, confidence, assertedAt);
        return assertion.Canonical.AsSpan().SequenceEqual(canonical);
    }

    private static void Write(Utf8JsonWriter writer, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (JsonProperty property in value.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (JsonElement item in value.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(value.GetString());
                break;
            case JsonValueKind.Number:
                writer.WriteRawValue(value.GetRawText(), skipInputValidation: true);
                break;
            case JsonValueKind.True:
                writer.WriteBooleanValue(true);
                break;
            case JsonValueKind.False:
                writer.WriteBooleanValue(false);
                break;
            case JsonValueKind.Null:
                writer.WriteNullValue();
                break;
            default:
                throw new ArgumentException("The object is not a JSON value.", nameof(value));
        }
    }

    private static void WriteByte(ArrayBufferWriter<byte> buffer, byte value)
    {
        buffer.GetSpan(1)[0] = value;
        buffer.Advance(1);
    }

    private static void WriteVarUInt(ArrayBufferWriter<byte> buffer, uint value)
    {
        while (value >= 0x80)
        {
            WriteByte(buffer, (byte)(value | 0x80));
            value >>= 7;
        }

        WriteByte(buffer, (byte)value);
    }

    private static void WriteString(ArrayBufferWriter<byte> buffer, string value) => WriteBytes(buffer, Encoding.UTF8.GetBytes(value));

    private static void WriteBytes(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes)
    {
        WriteVarUInt(buffer, (uint)bytes.Length);
        buffer.Write(bytes);
    }

    private static bool TryReadBytes(ref ReadOnlySpan<byte> data, out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        uint length = 0;
        for (int shift = 0; ; shift += 7)
        {
            if (data.IsEmpty || shift > 28)
            {
                return false;
            }

            byte b = data[0];
            data = data[1..];
            length |= (uint)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                break;
            }
        }

        if (length > data.Length)
        {
            return false;
        }

        bytes = data[..(int)length];
        data = data[(int)length..];
        return true;
    }
}
