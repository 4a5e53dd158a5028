namespace StemeDb.Testing.Fuzzing;

/// <summary>One generated HTTP request: what the fuzzer sends and prints when an answer breaks a property.</summary>
/// <param name="Expected">A property of this request's answer beyond the general ones (say "refused: 401"), or none.</param>
public sealed record FuzzRequest(string Method, string PathAndQuery, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[]? Body, string? ContentType, FuzzExpectation? Expected = null)
{
    public override string ToString()
    {
        string body = Body is null ? "no body" : Body.Length <= 2000 ? System.Text.Encoding.UTF8.GetString(Body) : $"{Body.Length} bytes";
        return $"{Method} {PathAndQuery} [{ContentType ?? "no content type"}; {string.Join(", ", Headers.Select(h => $"{h.Key}: {h.Value}"))}] {body}";
    }
}

/// <summary>What one request's answer must be, with the words a finding prints.</summary>
public sealed record FuzzExpectation(string Description, Func<int, bool> Holds);
