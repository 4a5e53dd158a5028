using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace StemeDb.Dapr.Testing;

/// <summary>The CloudEvents 1.0 envelope the publishing sidecar stores in the broker.</summary>
public static class CloudEventEnvelope
{
    public const string EventType = "com.dapr.event.sent";

    /// <summary>
    /// Wraps a published payload: <c>id</c> (UUIDv4), <c>source</c> (the publisher's app-id), <c>type</c>,
    /// <c>specversion</c>, <c>datacontenttype</c> (default <c>text/plain</c>), <c>topic</c>, <c>pubsubname</c>,
    /// trace fields, <c>time</c> (RFC3339, seconds); <c>cloudevent.*</c> metadata overrides the named fields,
    /// <c>rawPayload=true</c> stores the body as it is, <c>ttlInSeconds</c> adds <c>expiration</c>. An
    /// <c>application/cloudevents+json</c> body is the app's own event: kept, <c>topic</c>/<c>pubsubname</c>
    /// overwritten, missing fields filled. Null (with <paramref name="error"/>) for an unreadable event.
    /// </summary>
    // daprd: pkg/runtime/pubsub/cloudevents.go NewCloudEvent; contrib pubsub/envelope.go NewCloudEventsEnvelope, FromCloudEvent
    public static byte[]? Create(string source, string pubsub, string topic, byte[] data, string? contentType, IReadOnlyDictionary<string, string> metadata, string traceparent, string? tracestate, out string? error)
    {
        error = null;
        if (metadata.TryGetValue("rawPayload", out string? raw) && bool.TryParse(raw, out bool isRaw) && isRaw)
        {
            return data;
        }

        string now = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        string media = (contentType ?? "").Split(';')[0].Trim().ToLowerInvariant();
        string trace = metadata.GetValueOrDefault("cloudevent.traceparent") ?? metadata.GetValueOrDefault("cloudevent.traceid") ?? traceparent;
        string? state = metadata.GetValueOrDefault("cloudevent.tracestate") ?? tracestate;
        JsonObject envelope;
        if (media == "application/cloudevents+json")
        {
            try
            {
                envelope = JsonNode.Parse(data) as JsonObject ?? throw new JsonException("not a JSON object");
            }
            catch (JsonException e)
            {
                error = $"error reading the CloudEvent: {e.Message}";
                return null;
            }

            Fill(envelope, "time", now);
            Fill(envelope, "traceid", trace);
            Fill(envelope, "traceparent", trace);
            Fill(envelope, "tracestate", state ?? "");
            Fill(envelope, "source", "Dapr");
            Fill(envelope, "type", EventType);
            Fill(envelope, "specversion", "1.0");
        }
        else
        {
            envelope = new JsonObject
            {
                ["id"] = metadata.GetValueOrDefault("cloudevent.id") ?? Guid.NewGuid().ToString(),
                ["source"] = metadata.GetValueOrDefault("cloudevent.source") ?? source,
                ["type"] = metadata.GetValueOrDefault("cloudevent.type") ?? EventType,
                ["specversion"] = "1.0",
                ["datacontenttype"] = string.IsNullOrEmpty(contentType) ? "text/plain" : contentType,
                ["traceid"] = trace,
                ["traceparent"] = trace,
                ["tracestate"] = state ?? "",
                ["time"] = now,
            };
            if (metadata.GetValueOrDefault("cloudevent.subject") is { } subject)
            {
                envelope["subject"] = subject;
            }

            if (media == "application/json")
            {
                try
                {
                    envelope["data"] = JsonNode.Parse(data);
                }
                catch (JsonException)
                {
                    envelope["data"] = Encoding.UTF8.GetString(data); // invalid JSON travels as a string
                }
            }
            else if (media == "application/octet-stream")
            {
                envelope["data_base64"] = Convert.ToBase64String(data);
            }
            else
            {
                envelope["data"] = Encoding.UTF8.GetString(data);
            }
        }

        envelope["topic"] = topic;
        envelope["pubsubname"] = pubsub;
        if (metadata.TryGetValue("ttlInSeconds", out string? ttl) && int.TryParse(ttl, CultureInfo.InvariantCulture, out int seconds))
        {
            // Redis has no native TTL, so the envelope carries the expiry and the subscriber's sidecar checks it.
            envelope["expiration"] = DateTimeOffset.UtcNow.AddSeconds(seconds).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }

        return JsonSerializer.SerializeToUtf8Bytes(envelope);
    }

    /// <summary>Whether the event's <c>expiration</c> has passed (such events are dropped, not delivered).</summary>
    // daprd: pkg/runtime/subscription/subscription.go New (expired events dropped)
    public static bool IsExpired(byte[] envelope)
    {
        try
        {
            return JsonNode.Parse(envelope) is JsonObject o && o["expiration"] is JsonValue v && v.TryGetValue(out string? at)
                && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset expiry) && expiry < DateTimeOffset.UtcNow;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The <c>traceparent</c> an envelope carries, for the delivery's header.</summary>
    public static string? Traceparent(byte[] envelope)
    {
        try
        {
            return JsonNode.Parse(envelope) is JsonObject o && o["traceparent"] is JsonValue v && v.TryGetValue(out string? trace) && trace.Length > 0 ? trace : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void Fill(JsonObject envelope, string name, string value)
    {
        if (!envelope.ContainsKey(name))
        {
            envelope[name] = value;
        }
    }
}
