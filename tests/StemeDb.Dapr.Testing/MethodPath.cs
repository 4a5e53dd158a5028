using System.Text;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// Invocation method names as daprd derives, checks and forwards them: the request path decoded once,
/// refused if it holds characters that would change the app URL, cleaned like Go's <c>path.Clean</c>, and
/// written into the app URL as a string that is parsed again.
/// </summary>
public static class MethodPath
{
    /// <summary>
    /// Percent-decodes a raw request path once, as Go's server fills <c>r.URL.Path</c>; false for a malformed
    /// escape (Go's server answers those 400 before any handler runs).
    /// </summary>
    // daprd: pkg/api/http/directmessaging.go findTargetIDAndMethod (the method is r.URL.Path, decoded once)
    public static bool TryDecodeOnce(string raw, out string decoded)
    {
        decoded = raw;
        if (!raw.Contains('%', StringComparison.Ordinal))
        {
            return true;
        }

        var bytes = new List<byte>(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            if (raw[i] != '%')
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(raw[i].ToString()));
                continue;
            }

            if (i + 2 >= raw.Length || !Uri.IsHexDigit(raw[i + 1]) || !Uri.IsHexDigit(raw[i + 2]))
            {
                return false;
            }

            bytes.Add(Convert.ToByte(raw.Substring(i + 1, 2), 16));
            i += 2;
        }

        decoded = Encoding.UTF8.GetString(bytes.ToArray());
        return true;
    }

    /// <summary>
    /// The method daprd forwards, or null when it refuses it: <c>#</c>, <c>?</c>, NUL and the other control
    /// bytes would change the URL the callee builds; then <c>path.Clean</c> and leading <c>../</c> stripped.
    /// </summary>
    // daprd: pkg/messaging/method/normalize.go NormalizeMethod
    public static string? Normalize(string method)
    {
        foreach (char ch in method)
        {
            if (ch is '#' or '?' || ch < 0x20 || ch == 0x7F)
            {
                return null;
            }
        }

        string cleaned = Clean(method);
        while (cleaned.StartsWith("../", StringComparison.Ordinal))
        {
            cleaned = cleaned[3..];
        }

        // "." (empty or fully resolved) and ".." name the app's root; the callee adds the leading "/".
        return cleaned is "." or ".." ? "" : cleaned.TrimStart('/');
    }

    /// <summary>Go's <c>path.Clean</c>: <c>//</c> collapsed, <c>.</c> and <c>..</c> resolved, no trailing <c>/</c>.</summary>
    public static string Clean(string path)
    {
        if (path.Length == 0)
        {
            return ".";
        }

        bool rooted = path[0] == '/';
        var segments = new List<string>();
        foreach (string segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count > 0 && segments[^1] != "..")
                {
                    segments.RemoveAt(segments.Count - 1);
                }
                else if (!rooted)
                {
                    segments.Add("..");
                }

                continue;
            }

            segments.Add(segment);
        }

        string joined = (rooted ? "/" : "") + string.Join('/', segments);
        return joined.Length == 0 ? "." : joined;
    }

    /// <summary>
    /// The callee's app URL: <c>http://host:port/</c> + decoded method + <c>?</c> + raw query, written into a
    /// string and parsed again, so an escape left in the method (from <c>%25XX</c>) is decoded by the app a
    /// second time and a bare <c>%</c> fails. Returns the error text Go's parser gives otherwise.
    /// </summary>
    // daprd: pkg/channel/http/http_channel.go constructRequest
    public static Uri? AppUri(Uri appAddress, string method, string rawQuery, out string? error)
    {
        string url = $"{appAddress.Scheme}://{appAddress.Authority}/{method}" + (rawQuery.Length > 0 ? "?" + rawQuery : "");
        string path = "/" + method;
        for (int i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && (i + 2 >= path.Length || !Uri.IsHexDigit(path[i + 1]) || !Uri.IsHexDigit(path[i + 2])))
            {
                error = $"parse \"{url}\": invalid URL escape \"{path[i..Math.Min(path.Length, i + 3)]}\"";
                return null;
            }
        }

        // Go sends the path as written when it is a valid encoding, else it re-escapes the decoded path.
        string wire = IsValidEncoded(path) ? path : Escape(Decode(path));
        error = null;
        return new Uri($"{appAddress.Scheme}://{appAddress.Authority}{wire}" + (rawQuery.Length > 0 ? "?" + rawQuery : ""), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
    }

    private static bool IsValidEncoded(string path) =>
        path.All(ch => ch is '%' or '!' or '$' or '&' or '\'' or '(' or ')' or '*' or '+' or ',' or ';' or '=' or ':' or '@' or '[' or ']' or '/' || IsUnreserved(ch));

    private static bool IsUnreserved(char ch) => ch is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_' or '.' or '~';

    private static string Decode(string path) => TryDecodeOnce(path, out string decoded) ? decoded : path;

    private static string Escape(string path)
    {
        var escaped = new StringBuilder(path.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(path))
        {
            char ch = (char)b;
            if (b < 0x80 && (IsUnreserved(ch) || ch is '$' or '&' or '+' or ',' or '/' or ':' or ';' or '=' or '@'))
            {
                escaped.Append(ch);
            }
            else
            {
                escaped.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return escaped.ToString();
    }
}
