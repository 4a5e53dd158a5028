using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StemeDb.Testing.Fuzzing;

/// <summary>
/// Random and mutated JSON for fuzzing, from a seeded <see cref="Random"/> so a failure can be replayed:
/// values of every kind (deep nesting, huge and odd numbers, strings with escapes, control characters,
/// surrogates and non-ASCII), valid documents with fields dropped, swapped to another type or duplicated,
/// and byte-level damage (truncation, flipped bytes, invalid UTF-8, stray tokens).
/// </summary>
public sealed class JsonFuzz(Random random)
{
    private static readonly string[] OddStrings =
    [
        "", " ", "a", "#", "?", "%", "%41", "%2F", "/", "..", "../..", "a/../b", "\u0000", "\u0001\u001f", "\t\n\r", "\u00e9", "\u4e2d\u6587", "\ud83d\ude00",
        "\ud800", "'", "\"", "\\", "<script>", "null", "true", "1e309", "-0", "NaN", "Infinity", "0x10", "9223372036854775808", "18446744073709551616",
        "2026-13-45T25:61:61Z", "0000000000000000000000000000000000000000000000000000000000000000", "zzzz", "user:42",
    ];

    private static readonly string[] OddNumbers = ["0", "-0", "1", "-1", "0.5", "1e308", "-1e308", "1e-400", "123456789012345678901234567890", "9223372036854775807", "-9223372036854775809", "18446744073709551615", "3.14159265358979323846264338327950288", "2", "1.0000000000000002"];

    public Random Random => random;

    public string String()
    {
        return random.Next(4) switch
        {
            0 => OddStrings[random.Next(OddStrings.Length)],
            1 => new string((char)random.Next(32, 127), random.Next(0, 40)),
            2 => new string('s', random.Next(0, 2) == 0 ? random.Next(1020, 1030) : random.Next(250, 260)), // around the subject and predicate limits
            _ => RandomUnicode(random.Next(1, 30)),
        };
    }

    public string Number() => random.Next(3) == 0 ? random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture) : OddNumbers[random.Next(OddNumbers.Length)];

    /// <summary>A random JSON value as text (not always valid: huge numbers are JSON but overflow readers).</summary>
    public string Value(int depth = 0)
    {
        int kind = depth > 6 ? random.Next(5) : random.Next(8);
        return kind switch
        {
            0 => "null",
            1 => random.Next(2) == 0 ? "true" : "false",
            2 => Number(),
            3 or 4 => JsonSerializer.Serialize(String()),
            5 => "[" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ => Value(depth + 1))) + "]",
            6 => "{" + string.Join(",", Enumerable.Range(0, random.Next(0, 5)).Select(_ => JsonSerializer.Serialize(String()) + ":" + Value(depth + 1))) + "}",
            _ => random.Next(2) == 0 ? new string('[', 70) + new string(']', 70) : "{\"a\":" + new string('[', 40) + "1" + new string(']', 40) + "}",
        };
    }

    /// <summary>A valid document mutated at the JSON level: a field dropped, retyped, duplicated or added.</summary>
    public string Mutate(string validJson)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(validJson);
        }
        catch (JsonException)
        {
            // Deeper than JsonNode goes (the nesting values): rename a field instead.
            return validJson.Replace("\"subject\"", "\"subjekt\"", StringComparison.Ordinal);
        }

        if (node is null)
        {
            return validJson;
        }

        string text;
        try
        {
            int mutations = random.Next(1, 4);
            for (int m = 0; m < mutations; m++)
            {
                node = MutateNode(node, 0);
            }

            text = node?.ToJsonString() ?? "null";
        }
        catch (ArgumentException)
        {
            // An object with a duplicated key (Value makes some), which JsonNode refuses when it is opened.
            return validJson.Replace("\"subject\"", "\"subjekt\"", StringComparison.Ordinal);
        }

        if (random.Next(6) == 0 && text.StartsWith('{') && text.Length > 2)
        {
            // A duplicated key, which JsonNode cannot hold.
            int brace = text.IndexOf('{', StringComparison.Ordinal);
            text = text[..(brace + 1)] + "\"subject\":\"dup\"," + text[(brace + 1)..];
        }

        return text;
    }

    /// <summary>Damage at the byte level; <paramref name="alwaysInvalid"/> keeps only damage no JSON reader accepts.</summary>
    public byte[] Damage(string json, bool alwaysInvalid)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        int choice = alwaysInvalid ? random.Next(3) : random.Next(6);
        switch (choice)
        {
            case 0: // a strict prefix of an object or array is never a JSON document
                return bytes.Length <= 1 ? "{"u8.ToArray() : bytes[..random.Next(1, bytes.Length)];
            case 1: // invalid UTF-8: before the document (never JSON), or in a string (a reader that skips an unknown field may not look)
                byte[] bad = [.. bytes];
                int at = alwaysInvalid ? 0 : Math.Max(0, Array.IndexOf(bad, (byte)'"') + 1);
                return [.. bad[..at], 0xC3, 0x28, 0xFF, 0xFE, .. bad[at..]];
            case 2: // a stray token after the document
                return [.. bytes, .. ",}"u8.ToArray()];
            case 3: // a flipped byte anywhere
                byte[] flipped = [.. bytes];
                if (flipped.Length > 0)
                {
                    flipped[random.Next(flipped.Length)] ^= (byte)(1 << random.Next(8));
                }

                return flipped;
            case 4: // random bytes
                byte[] noise = new byte[random.Next(0, 300)];
                random.NextBytes(noise);
                return noise;
            default: // a byte-order mark and whitespace around it
                return [0xEF, 0xBB, 0xBF, .. " \n"u8.ToArray(), .. bytes, .. "\n "u8.ToArray()];
        }
    }

    private JsonNode? MutateNode(JsonNode? node, int depth)
    {
        switch (node)
        {
            case JsonObject obj when obj.Count > 0 && depth < 4 && random.Next(3) > 0:
            {
                string key = obj.ElementAt(random.Next(obj.Count)).Key;
                switch (random.Next(4))
                {
                    case 0:
                        obj.Remove(key);
                        break;
                    case 1:
                        obj[key] = SafeNode();
                        break;
                    case 2:
                        obj[String()] = SafeNode();
                        break;
                    default:
                        JsonNode? child = obj[key];
                        obj.Remove(key);
                        obj[key] = MutateNode(child, depth + 1);
                        break;
                }

                return obj;
            }

            case JsonArray array when array.Count > 0 && depth < 4 && random.Next(3) > 0:
            {
                int i = random.Next(array.Count);
                switch (random.Next(3))
                {
                    case 0:
                        array.RemoveAt(i);
                        break;
                    case 1:
                        array.Add(SafeNode());
                        break;
                    default:
                        JsonNode? child = array[i];
                        array.RemoveAt(i);
                        array.Insert(i, MutateNode(child, depth + 1));
                        break;
                }

                return array;
            }

            default:
                return SafeNode();
        }
    }

    // A value JsonNode can hold (within its default depth of 64).
    private JsonNode? SafeNode()
    {
        for (int i = 0; i < 5; i++)
        {
            try
            {
                return JsonNode.Parse(Value(2));
            }
            catch (JsonException)
            {
            }
        }

        return null;
    }

    private string RandomUnicode(int length)
    {
        var text = new StringBuilder(length);
        for (int i = 0; i < length; i++)
        {
            int code = random.Next(5) switch
            {
                0 => random.Next(0, 32),
                1 => random.Next(0x80, 0x800),
                2 => random.Next(0x800, 0xD800),
                3 => random.Next(0x10000, 0x10FFFF),
                _ => random.Next(32, 127),
            };
            text.Append(char.ConvertFromUtf32(code));
        }

        return text.ToString();
    }
}
