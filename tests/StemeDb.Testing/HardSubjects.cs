using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace StemeDb.Testing;

/// <summary>
/// Valid subjects that a URL path cannot carry exactly, or that proxies and sidecars rewrite: IRIs with
/// fragments and queries, percent signs, slashes, dot segments, spaces, control characters, non-ASCII and
/// the longest allowed. Every one must write, read and retract through the public API.
/// </summary>
public static class HardSubjects
{
    public static IReadOnlyList<string> All { get; } =
    [
        "https://example.org/a#b",
        "https://example.org/search?q=a&b=c",
        "50%",
        "%41",
        "%2541",
        "a%2Fb",
        "a/b",
        "/leading/and/trailing/",
        "a//b",
        ".",
        "..",
        "a/../b",
        "../a",
        "with space",
        "plus+sign",
        "back\\slash",
        "quote\"and'apostrophe",
        "tab\tnew\nline\rcarriage",
        "control\u0001\u001f\u007f",
        "ünïcødé 主語 🙂",
        new string('x', 1024),
        new string('é', 512), // 1024 bytes of UTF-8
    ];

    /// <summary>
    /// Writes an assertion of each subject through a gateway, reads it with <c>GET /v1/assertions?subject=</c>,
    /// retracts it with <c>DELETE /v1/assertions/{id}?subject=</c> and reads the history; returns what went wrong.
    /// </summary>
    public static async Task<List<string>> RoundTripAsync(HttpClient gateway, CancellationToken cancellationToken = default)
    {
        var failures = new List<string>();
        foreach (string subject in All)
        {
            string query = "subject=" + Uri.EscapeDataString(subject);
            using var body = new StringContent(JsonSerializer.Serialize(new { subject, predicate = "p", @object = subject.Length }), Encoding.UTF8, "application/json");
            using HttpResponseMessage written = await gateway.PostAsync(new Uri("/v1/assertions", UriKind.Relative), body, cancellationToken).ConfigureAwait(false);
            if (written.StatusCode != HttpStatusCode.OK)
            {
                failures.Add($"{Show(subject)}: write answered {(int)written.StatusCode}");
                continue;
            }

            using JsonDocument ids = JsonDocument.Parse(await written.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            string id = ids.RootElement.GetProperty("ids")[0].GetString()!;
            using HttpResponseMessage read = await gateway.GetAsync(new Uri($"/v1/assertions?{query}", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            List<JsonElement>? found = read.IsSuccessStatusCode ? await read.Content.ReadFromJsonAsync<List<JsonElement>>(cancellationToken).ConfigureAwait(false) : null;
            if (found is not [var only] || only.GetProperty("id").GetString() != id || only.GetProperty("subject").GetString() != subject)
            {
                failures.Add($"{Show(subject)}: read answered {(int)read.StatusCode} with {found?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} assertions");
                continue;
            }

            using HttpResponseMessage retracted = await gateway.DeleteAsync(new Uri($"/v1/assertions/{id}?{query}", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            List<JsonElement>? after = await gateway.GetFromJsonAsync<List<JsonElement>>(new Uri($"/v1/assertions?{query}&history=true", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            if (retracted.StatusCode != HttpStatusCode.OK || after is not [var gone] || gone.GetProperty("retractedAt").ValueKind == JsonValueKind.Null)
            {
                failures.Add($"{Show(subject)}: retract answered {(int)retracted.StatusCode}, the history then held {after?.Count} assertions");
            }
        }

        return failures;
    }

    private static string Show(string subject) => JsonSerializer.Serialize(subject.Length > 40 ? subject[..40] + "…" : subject);
}
