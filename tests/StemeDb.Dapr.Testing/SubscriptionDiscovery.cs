using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace StemeDb.Dapr.Testing;

/// <summary>The app's programmatic subscriptions, read once from <c>GET /dapr/subscribe</c>.</summary>
public static class SubscriptionDiscovery
{
    /// <summary>
    /// 200: the entries; 404: none; any other status (or a body that is not a list): none, with an error
    /// logged. Transport errors are retried 3 times (the app may not listen yet), then thrown.
    /// </summary>
    // daprd: pkg/runtime/pubsub/subscriptions.go GetSubscriptionsHTTP; pkg/runtime/processor/subscriber/subscriber.go initProgrammaticSubscriptions
    internal static async Task<List<Subscription>> LoadAsync(AppChannel channel, string appId, ILogger logger, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(channel.AppAddress, "/dapr/subscribe"));
            request.Headers.TryAddWithoutValidation("dapr-app-id", appId);
            try
            {
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(TimeSpan.FromSeconds(10));
                using HttpResponseMessage response = await channel.SendAsync(request, deadline.Token);
                string body = await response.Content.ReadAsStringAsync(deadline.Token);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return [];
                }

                if (response.StatusCode != HttpStatusCode.OK)
                {
                    logger.LogError("GET /dapr/subscribe of {AppId} answered {Status}: no subscriptions", appId, (int)response.StatusCode);
                    return [];
                }

                try
                {
                    return Parse(body, logger);
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    logger.LogError(e, "GET /dapr/subscribe of {AppId} answered an unreadable list: no subscriptions", appId);
                    return [];
                }
            }
            catch (HttpRequestException) when (attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500 << attempt), cancellationToken);
            }
        }
    }

    /// <summary>
    /// v1 entries (<c>route</c>) and v2 (<c>routes.rules</c>, <c>routes.default</c>), keys matched
    /// case-insensitively (.NET writes <c>pubsubName</c>); the path is the first rule without a match
    /// expression (CEL is not evaluated here), else <c>default</c>, else <c>route</c>; an entry with none is dropped.
    /// daprd prepends <c>/</c> to a path without one.
    /// </summary>
    public static List<Subscription> Parse(string json, ILogger logger)
    {
        using JsonDocument list = JsonDocument.Parse(json);
        var subscriptions = new List<Subscription>();
        foreach (JsonElement entry in list.RootElement.EnumerateArray())
        {
            string? pubsub = Text(entry, "pubsubname");
            string? topic = Text(entry, "topic");
            string? route = null;
            if (Property(entry, "routes") is { ValueKind: JsonValueKind.Object } routes)
            {
                if (Property(routes, "rules") is { ValueKind: JsonValueKind.Array } rules)
                {
                    route = rules.EnumerateArray().Where(r => string.IsNullOrEmpty(Text(r, "match"))).Select(r => Text(r, "path")).FirstOrDefault(p => !string.IsNullOrEmpty(p));
                }

                route ??= Text(routes, "default");
            }

            route ??= Text(entry, "route");
            if (pubsub is null || topic is null || string.IsNullOrEmpty(route))
            {
                logger.LogWarning("Subscription entry {Entry} has no pubsub, topic or route: dropped", entry.GetRawText());
                continue;
            }

            subscriptions.Add(new Subscription(pubsub, topic, route.StartsWith('/') ? route : "/" + route, Text(entry, "deadLetterTopic") is { Length: > 0 } dlq ? dlq : null));
        }

        return subscriptions;
    }

    private static JsonElement? Property(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.EnumerateObject().FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: not JsonValueKind.Undefined } p ? p.Value : null;

    private static string? Text(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;
}
