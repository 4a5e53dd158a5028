namespace StemeDb.Dapr.Testing;

/// <summary>
/// A pub/sub component's topic scoping: <c>allowedTopics</c> bars every other topic for everyone;
/// <c>publishingScopes</c>/<c>subscriptionScopes</c> (<c>a=t1,t2;b=</c>) bind the apps they list to those
/// topics (<c>b=</c>: none); an unlisted app is free, except for the <c>protectedTopics</c>.
/// </summary>
// daprd: pkg/scopes/scopes.go GetScopedTopics; pkg/runtime/pubsub/adapter.go IsOperationAllowed
public sealed record PubSubScopes(
    IReadOnlyList<string> AllowedTopics,
    IReadOnlyDictionary<string, string[]> Publishing,
    IReadOnlyDictionary<string, string[]> Subscribing,
    IReadOnlyList<string> ProtectedTopics)
{
    public static PubSubScopes None { get; } = new([], new Dictionary<string, string[]>(), new Dictionary<string, string[]>(), []);

    public static PubSubScopes FromMetadata(IReadOnlyDictionary<string, string> metadata) => new(
        List(metadata.GetValueOrDefault("allowedTopics")),
        Scoped(metadata.GetValueOrDefault("publishingScopes")),
        Scoped(metadata.GetValueOrDefault("subscriptionScopes")),
        List(metadata.GetValueOrDefault("protectedTopics")));

    public bool MayPublish(string appId, string topic) => Allowed(Publishing, appId, topic);

    public bool MaySubscribe(string appId, string topic) => Allowed(Subscribing, appId, topic);

    private bool Allowed(IReadOnlyDictionary<string, string[]> scoped, string appId, string topic)
    {
        if (AllowedTopics.Count > 0 && !AllowedTopics.Contains(topic))
        {
            return false;
        }

        return scoped.TryGetValue(appId, out string[]? topics) ? topics.Contains(topic) : !ProtectedTopics.Contains(topic);
    }

    private static string[] List(string? value) =>
        (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static Dictionary<string, string[]> Scoped(string? value)
    {
        var scoped = new Dictionary<string, string[]>();
        foreach (string app in (value ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            string[] pair = app.Split('=', 2);
            scoped[pair[0].Trim()] = pair.Length > 1 ? List(pair[1]) : [];
        }

        return scoped;
    }
}
