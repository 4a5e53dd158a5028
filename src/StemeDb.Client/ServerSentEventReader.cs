using System.Globalization;
using System.Text;

namespace StemeDb.Client;

/// <summary>
/// Parses a <c>text/event-stream</c> as the HTML standard says (§9.2.6 "Interpreting an event stream"):
/// lines end with LF, CR LF or CR; a line starting with ':' is a comment (keep-alives); <c>field: value</c>
/// with one optional space after the colon; several <c>data</c> lines join with LF; an <c>id</c> holding
/// NUL is ignored; a blank line dispatches the event, unless it had no data.
/// </summary>
internal sealed class ServerSentEventReader(Stream stream)
{
    // StreamReader.ReadLineAsync ends lines at LF, CR LF and CR, as the standard does.
    private readonly StreamReader _reader = new(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: false);
    private string? _lastId;

    /// <summary>The next event, or null at the end of the stream (an event not yet ended by a blank line is dropped, as the standard says).</summary>
    public async Task<ServerSentEvent?> ReadAsync(CancellationToken cancellationToken)
    {
        var data = new StringBuilder();
        bool hasData = false;
        string type = "message";
        TimeSpan? retry = null;
        while (await _reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.Length == 0)
            {
                if (hasData)
                {
                    return new ServerSentEvent(_lastId, type, data.ToString(), retry);
                }

                type = "message";
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string field = colon < 0 ? line : line[..colon];
            string value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "data":
                    if (hasData)
                    {
                        data.Append('\n');
                    }

                    data.Append(value);
                    hasData = true;
                    break;
                case "event":
                    type = value;
                    break;
                case "id" when !value.Contains('\0', StringComparison.Ordinal):
                    _lastId = value;
                    break;
                case "retry" when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long ms):
                    retry = TimeSpan.FromMilliseconds(ms);
                    break;
                default:
                    break; // unknown fields are ignored
            }
        }

        return null;
    }
}
