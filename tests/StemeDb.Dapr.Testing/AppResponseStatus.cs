using System.Net;
using System.Text.Json;

namespace StemeDb.Dapr.Testing;

/// <summary>What became of a delivered event.</summary>
public enum DeliveryOutcome
{
    /// <summary>The app took it (acked).</summary>
    Delivered,

    /// <summary>The app answered DROP or 404, or the event had expired (acked; dead-lettered if the subscription has a topic for it).</summary>
    Dropped,

    /// <summary>Every try failed and no retry is left: acked anyway, so the message is gone (a loss).</summary>
    Exhausted,

    /// <summary>The sidecar stopped mid-delivery: left pending, for the reclaim to redeliver.</summary>
    Abandoned,
}

/// <summary>How a sidecar reads the app's answer to one delivery.</summary>
public static class AppResponseStatus
{
    public enum Verdict
    {
        Success,
        Retry,
        Drop,
    }

    /// <summary>
    /// 2xx with an empty or undecodable body, <c>{}</c>, no or an empty <c>status</c>, or <c>SUCCESS</c>: taken;
    /// <c>DROP</c> or 404: dropped; <c>RETRY</c>, any other string, any other status: retried.
    /// The status strings are case-sensitive; a non-string <c>status</c> makes the body undecodable.
    /// </summary>
    // daprd: pkg/runtime/subscription/postman/http/http.go Deliver; contrib pubsub/responses.go AppResponseStatus
    public static Verdict Classify(HttpStatusCode status, string body)
    {
        int code = (int)status;
        if (code == 404)
        {
            return Verdict.Drop;
        }

        if (code is < 200 or > 299)
        {
            return Verdict.Retry;
        }

        string? answer;
        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return Verdict.Success; // not an object: undecodable as a status
            }

            answer = "";
            foreach (JsonProperty property in document.RootElement.EnumerateObject())
            {
                // Go matches JSON keys case-insensitively.
                if (property.Name.Equals("status", StringComparison.OrdinalIgnoreCase))
                {
                    answer = property.Value.ValueKind switch
                    {
                        JsonValueKind.String => property.Value.GetString(),
                        JsonValueKind.Null => "",
                        _ => null,
                    };
                    break;
                }
            }
        }
        catch (JsonException)
        {
            return Verdict.Success;
        }

        return answer switch
        {
            null => Verdict.Success, // a number or object where the string goes: undecodable
            "" or "SUCCESS" => Verdict.Success,
            "DROP" => Verdict.Drop,
            _ => Verdict.Retry,
        };
    }
}
