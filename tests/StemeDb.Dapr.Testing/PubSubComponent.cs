using System.Globalization;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// A <c>pubsub.redis</c> component as the stand-in uses it: its name, which apps load it (<c>scopes</c>),
/// topic scoping, and the Redis Streams settings that shape delivery. The defaults are the component's.
/// </summary>
// daprd: contrib common/component/redis/redis.go ParseClientFromProperties (defaults)
public sealed record PubSubComponent(string Name)
{
    public string Type { get; init; } = "pubsub.redis";

    /// <summary>Names both the consumer group and the consumer; unset: the app-id. Templates: <c>{uuid}</c>, <c>{appID}</c>, <c>{podName}</c>, <c>{namespace}</c>.</summary>
    public string? ConsumerId { get; init; }

    /// <summary>Parallel deliveries per sidecar (one queue shared by the workers: out of order).</summary>
    public int Concurrency { get; init; } = 10;

    public int QueueDepth { get; init; } = 100;

    /// <summary>A delivery pending this long is claimed again and redelivered (the first is not cancelled).</summary>
    public TimeSpan ProcessingTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the pending deliveries are checked against <see cref="ProcessingTimeout"/>.</summary>
    public TimeSpan RedeliverInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>XADD MAXLEN ~ this on publish; 0: the stream is never trimmed.</summary>
    public int MaxLenApprox { get; init; }

    public PubSubScopes Scopes { get; init; } = PubSubScopes.None;

    /// <summary>The app-ids whose sidecars load the component (its <c>scopes:</c>); empty: all.</summary>
    public IReadOnlyList<string> AppScopes { get; init; } = [];

    /// <summary>Reads the single pub/sub component of a YAML file (a relative path is looked up from the repository root too).</summary>
    public static PubSubComponent Load(string path) => LoadAll(path).Single();

    public static IReadOnlyList<PubSubComponent> LoadAll(string path) => ParseAll(File.ReadAllText(RepositoryFiles.Resolve(path)));

    public static PubSubComponent Parse(string yaml) => ParseAll(yaml).Single();

    public static IReadOnlyList<PubSubComponent> ParseAll(string yaml)
    {
        var components = new List<PubSubComponent>();
        foreach (Dictionary<object, object> document in ResiliencyPolicies.Documents(yaml))
        {
            Dictionary<object, object> spec = ResiliencyPolicies.Map(document, "spec") ?? [];
            if (ResiliencyPolicies.Text(document, "kind") != "Component" || ResiliencyPolicies.Text(spec, "type") is not { } type || !type.StartsWith("pubsub.", StringComparison.Ordinal))
            {
                continue;
            }

            var metadata = new Dictionary<string, string>();
            if (spec.TryGetValue("metadata", out object? items) && items is List<object> list)
            {
                foreach (Dictionary<object, object> item in list.OfType<Dictionary<object, object>>())
                {
                    metadata[ResiliencyPolicies.Text(item, "name")!] = ResiliencyPolicies.Text(item, "value") ?? "";
                }
            }

            string name = ResiliencyPolicies.Text(ResiliencyPolicies.Map(document, "metadata") ?? [], "name")!;
            components.Add(new PubSubComponent(name)
            {
                Type = type,
                ConsumerId = metadata.GetValueOrDefault("consumerID") is { Length: > 0 } consumer ? consumer : null,
                Concurrency = Int(metadata, "concurrency") ?? 10,
                QueueDepth = Int(metadata, "queueDepth") ?? 100,
                ProcessingTimeout = metadata.TryGetValue("processingTimeout", out string? processing) ? GoDuration.Parse(processing) : TimeSpan.FromSeconds(60),
                RedeliverInterval = metadata.TryGetValue("redeliverInterval", out string? redeliver) ? GoDuration.Parse(redeliver) : TimeSpan.FromSeconds(15),
                MaxLenApprox = Int(metadata, "maxLenApprox") ?? 0,
                Scopes = PubSubScopes.FromMetadata(metadata),
                AppScopes = document.TryGetValue("scopes", out object? scopes) && scopes is List<object> apps ? [.. apps.Select(a => a.ToString()!)] : [],
            });
        }

        return components;
    }

    /// <summary>The consumer group this app's sidecar joins, templates resolved as at sidecar start.</summary>
    // daprd: pkg/runtime/processor/pubsub/pubsub.go Init; pkg/runtime/meta/meta.go convertItemsToProps
    public string ConsumerGroupFor(string appId, string @namespace)
    {
        string consumer = ConsumerId ?? appId;
        if (consumer.Contains("{podName}", StringComparison.Ordinal))
        {
            consumer = consumer.Replace("{podName}", Environment.GetEnvironmentVariable("POD_NAME") ?? throw new InvalidOperationException("consumerID {podName} needs POD_NAME set."), StringComparison.Ordinal);
        }

        return consumer
            .Replace("{uuid}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
            .Replace("{appID}", appId, StringComparison.Ordinal)
            .Replace("{namespace}", $"{@namespace}.{appId}", StringComparison.Ordinal);
    }

    private static int? Int(Dictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out string? value) && value.Length > 0 ? int.Parse(value, CultureInfo.InvariantCulture) : null;
}
