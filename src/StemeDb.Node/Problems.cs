using System.Text.Json;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;
using StemeDb.Contracts;

namespace StemeDb.Node;

/// <summary>
/// The node's RFC 7807 answers. A request for a range this node does not serve at the generation asked
/// gets 421 with the descriptors this node has (CockroachDB's RangeKeyMismatch), so the caller refreshes its
/// cache and retries. A 503 carries <c>retryElsewhere</c> when the failure is this node's own (its store, its
/// fence), so a gateway tries another replica instead of giving up.
/// </summary>
public static class Problems
{
    public static IResult Misdirected(IReadOnlyList<RangeDescriptor> current, string? why = null) =>
        Results.Problem(
            statusCode: StatusCodes.Status421MisdirectedRequest,
            title: "Range not served here",
            detail: why ?? "This node does not hold the range of this subject at that generation; refresh the routing cache from the descriptors and retry.",
            extensions: new Dictionary<string, object?> { [Contracts.Wire.Misdirected.DescriptorsField] = current.Select(RangeDescriptorDto.From).ToList() });

    public static IResult Misdirected(ClusterNode node, int shard, string? why = null) =>
        Misdirected(node.Table.Current.DescriptorsOverlapping(shard, shard + 1), why);

    public static IResult Invalid(IEnumerable<ValidationError> errors) =>
        Results.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: "Invalid request",
            detail: string.Join(" ", errors.Select(e => $"{e.Field} {e.Message}")),
            extensions: new Dictionary<string, object?> { ["errors"] = errors.ToList() });

    public static IResult Invalid(string field, string message) => Invalid([new ValidationError(field, message)]);

    /// <summary>503 that says whether another replica may do better (this node's own trouble) or not (no quorum).</summary>
    public static IResult Unavailable(string title, string detail, bool retryElsewhere) =>
        Results.Problem(
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: title,
            detail: detail,
            extensions: new Dictionary<string, object?> { [Contracts.Wire.Misdirected.RetryElsewhereField] = retryElsewhere });

    /// <summary>The descriptors of a 421 body; empty when there are none or the body is not one.</summary>
    public static IReadOnlyList<RangeDescriptor> Descriptors(string body)
    {
        try
        {
            return [.. Contracts.Wire.Misdirected.Descriptors(System.Text.Encoding.UTF8.GetBytes(body)).Select(d => d.ToDescriptor())];
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException or Cluster.Errors.StemeDbClusterException)
        {
            return [];
        }
    }

    /// <summary>The detail of a problem body, or the body itself (shortened) when it is not one.</summary>
    public static string Detail(string body)
    {
        try
        {
            using JsonDocument problem = JsonDocument.Parse(body);
            if (problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty("detail", out JsonElement detail) && detail.ValueKind == JsonValueKind.String)
            {
                return detail.GetString()!;
            }
        }
        catch (JsonException)
        {
        }

        return body.Length > 200 ? body[..200] : body;
    }
}
