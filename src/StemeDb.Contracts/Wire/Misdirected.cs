using System.Text.Json;

namespace StemeDb.Contracts.Wire;

/// <summary>
/// The body of a node's 421 (range not served here at that generation): an RFC 7807 problem with the
/// descriptors the node has (<see cref="DescriptorsField"/>), so the caller refreshes its routing cache and
/// retries; and of its 503s, whether another replica may do better (<see cref="RetryElsewhereField"/>).
/// </summary>
public static class Misdirected
{
    public const string DescriptorsField = "descriptors";
    public const string RetryElsewhereField = "retryElsewhere";

    /// <summary>The descriptors of a 421 body; empty when there are none or the body is not one.</summary>
    public static List<RangeDescriptorDto> Descriptors(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using JsonDocument problem = JsonDocument.ParseValue(ref reader);
            if (problem.RootElement.ValueKind == JsonValueKind.Object && problem.RootElement.TryGetProperty(DescriptorsField, out JsonElement list))
            {
                return list.Deserialize<List<RangeDescriptorDto>>(JsonSerializerOptions.Web) ?? [];
            }
        }
        catch (JsonException)
        {
        }

        return [];
    }

    /// <summary>Whether a 503 body says the failure was the answering node's own (another replica may serve).</summary>
    public static bool SaysRetryElsewhere(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using JsonDocument problem = JsonDocument.ParseValue(ref reader);
            return problem.RootElement.ValueKind == JsonValueKind.Object
                && problem.RootElement.TryGetProperty(RetryElsewhereField, out JsonElement flag)
                && flag.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
