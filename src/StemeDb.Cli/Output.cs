using System.Text.Json;
using System.Text.Json.Serialization;

namespace StemeDb.Cli;

/// <summary>How results are written: JSON for scripts (camelCase, as the API speaks), aligned columns for people.</summary>
public static class Output
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };
    private static readonly JsonSerializerOptions Line = new(JsonSerializerDefaults.Web);

    /// <summary>One JSON document, indented.</summary>
    public static void Json<T>(TextWriter writer, T value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteLine(JsonSerializer.Serialize(value, Indented));
    }

    /// <summary>One JSON value on one line (for streams: JSON lines).</summary>
    public static string JsonLine<T>(T value) => JsonSerializer.Serialize(value, Line);

    /// <summary>Left-aligned columns separated by two spaces, a header row first; control characters shown escaped so a row stays one line.</summary>
    public static void Table(TextWriter writer, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(headers);
        List<string[]> all = [[.. headers], .. rows.Select(r => r.Select(Printable).ToArray())];
        int[] widths = [.. Enumerable.Range(0, headers.Count).Select(c => all.Max(r => c < r.Length ? r[c].Length : 0))];
        foreach (string[] row in all)
        {
            writer.WriteLine(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }
    }

    private static string Printable(string text) =>
        text.Any(char.IsControl) ? string.Concat(text.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : text;
}
