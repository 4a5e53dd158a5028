using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// A Dapr <c>Resiliency</c> resource: named timeouts, retries and circuit breakers, and the targets
/// (<c>apps.&lt;id&gt;</c>, <c>components.&lt;name&gt;.inbound|outbound</c>) that name them.
/// </summary>
public sealed class ResiliencyPolicies
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();
    private readonly Dictionary<string, TimeSpan> _timeouts = [];
    private readonly Dictionary<string, RetryPolicy> _retries = [];
    private readonly Dictionary<string, CircuitBreakerPolicy> _breakers = [];
    private readonly Dictionary<string, Names> _apps = [];
    private readonly Dictionary<string, (Names? Inbound, Names? Outbound)> _components = [];

    private ResiliencyPolicies(Dictionary<object, object> resource)
    {
        Scopes = resource.TryGetValue("scopes", out object? scopes) && scopes is List<object> list
            ? [.. list.Select(s => s.ToString()!)]
            : [];
        Dictionary<object, object> spec = Map(resource, "spec") ?? [];
        Dictionary<object, object> policies = Map(spec, "policies") ?? [];
        foreach ((object name, object value) in Map(policies, "timeouts") ?? [])
        {
            _timeouts[name.ToString()!] = GoDuration.Parse(value.ToString()!);
        }

        foreach ((object name, object value) in Map(policies, "retries") ?? [])
        {
            var retry = (Dictionary<object, object>)value;
            _retries[name.ToString()!] = new RetryPolicy(
                Text(retry, "policy") == "exponential",
                Text(retry, "duration") is { } duration ? GoDuration.Parse(duration) : TimeSpan.FromSeconds(5),
                Text(retry, "maxInterval") is { } maxInterval ? GoDuration.Parse(maxInterval) : TimeSpan.FromSeconds(60),
                Text(retry, "maxRetries") is { } maxRetries ? int.Parse(maxRetries, CultureInfo.InvariantCulture) : -1,
                RetryPolicy.ParseStatusCodes(Map(retry, "matching") is { } matching ? Text(matching, "httpStatusCodes") : null));
        }

        foreach ((object name, object value) in Map(policies, "circuitBreakers") ?? [])
        {
            var breaker = (Dictionary<object, object>)value;
            _breakers[name.ToString()!] = new CircuitBreakerPolicy(
                Text(breaker, "maxRequests") is { } maxRequests ? int.Parse(maxRequests, CultureInfo.InvariantCulture) : 1,
                Text(breaker, "interval") is { } interval ? GoDuration.Parse(interval) : TimeSpan.Zero,
                Text(breaker, "timeout") is { } timeout ? GoDuration.Parse(timeout) : TimeSpan.FromSeconds(60),
                Text(breaker, "trip") ?? "consecutiveFailures > 5").Validated();
        }

        Dictionary<object, object> targets = Map(spec, "targets") ?? [];
        foreach ((object id, object value) in Map(targets, "apps") ?? [])
        {
            _apps[id.ToString()!] = Names.From(value as Dictionary<object, object>);
        }

        foreach ((object name, object value) in Map(targets, "components") ?? [])
        {
            var sides = value as Dictionary<object, object> ?? [];
            _components[name.ToString()!] = (
                Map(sides, "inbound") is { } inbound ? Names.From(inbound) : null,
                Map(sides, "outbound") is { } outbound ? Names.From(outbound) : null);
        }
    }

    /// <summary>The app-ids whose sidecars load this resource; empty: every sidecar.</summary>
    public IReadOnlyList<string> Scopes { get; }

    /// <summary>Reads the <c>kind: Resiliency</c> document of a YAML file (a relative path is looked up from the repository root too).</summary>
    public static ResiliencyPolicies Load(string path) => Parse(File.ReadAllText(RepositoryFiles.Resolve(path)));

    public static ResiliencyPolicies Parse(string yaml) =>
        new(Documents(yaml).Single(d => Text(d, "kind") == "Resiliency"));

    public bool AppliesTo(string appId) => Scopes.Count == 0 || Scopes.Contains(appId);

    /// <summary>
    /// The policies for invoking an app: those its <c>targets.apps</c> entry names (the id as in the URL),
    /// else the <c>DefaultApp…Policy</c>/<c>Default…Policy</c> named ones.
    /// </summary>
    // daprd: pkg/resiliency/resiliency.go EndpointPolicy
    public PolicyDefinition App(string appId) =>
        _apps.TryGetValue(appId, out Names? names) ? Resolve(names) : Defaults("DefaultApp");

    /// <summary>The policies for deliveries from a pub/sub component to the app.</summary>
    // daprd: pkg/resiliency/resiliency.go ComponentInboundPolicy
    public PolicyDefinition ComponentInbound(string component) =>
        _components.TryGetValue(component, out var sides) && sides.Inbound is { } names ? Resolve(names) : Defaults("DefaultComponentInbound", "DefaultComponent");

    public PolicyDefinition ComponentOutbound(string component) =>
        _components.TryGetValue(component, out var sides) && sides.Outbound is { } names ? Resolve(names) : Defaults("DefaultComponentOutbound", "DefaultComponent");

    internal static List<Dictionary<object, object>> Documents(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        parser.Consume<StreamStart>();
        var documents = new List<Dictionary<object, object>>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (Deserializer.Deserialize<Dictionary<object, object>?>(parser) is { } document)
            {
                documents.Add(document);
            }
        }

        return documents;
    }

    internal static Dictionary<object, object>? Map(Dictionary<object, object> node, string key) =>
        node.TryGetValue(key, out object? value) ? value as Dictionary<object, object> : null;

    internal static string? Text(Dictionary<object, object> node, string key) =>
        node.TryGetValue(key, out object? value) && value is not (null or Dictionary<object, object> or List<object>) ? value.ToString() : null;

    private PolicyDefinition Resolve(Names names) => new(
        names.Timeout is { } t ? (_timeouts.TryGetValue(t, out TimeSpan timeout) ? timeout : throw Missing("timeout", t)) : null,
        names.Retry is { } r ? _retries.GetValueOrDefault(r) ?? throw Missing("retry", r) : null,
        names.CircuitBreaker is { } c ? _breakers.GetValueOrDefault(c) ?? throw Missing("circuit breaker", c) : null);

    private PolicyDefinition Defaults(params string[] prefixes)
    {
        string[] chain = [.. prefixes, "Default"];
        TimeSpan? timeout = chain.Select(p => p + "TimeoutPolicy").Where(_timeouts.ContainsKey).Select(n => (TimeSpan?)_timeouts[n]).FirstOrDefault();
        RetryPolicy? retry = chain.Select(p => _retries.GetValueOrDefault(p + "RetryPolicy")).FirstOrDefault(x => x is not null);
        CircuitBreakerPolicy? breaker = chain.Select(p => _breakers.GetValueOrDefault(p + "CircuitBreakerPolicy")).FirstOrDefault(x => x is not null);
        return new PolicyDefinition(timeout, retry, breaker);
    }

    private static InvalidDataException Missing(string kind, string name) => new($"The resiliency target names {kind} policy '{name}', which is not defined.");

    private sealed record Names(string? Timeout, string? Retry, string? CircuitBreaker)
    {
        public static Names From(Dictionary<object, object>? node) =>
            node is null ? new(null, null, null) : new(Text(node, "timeout"), Text(node, "retry"), Text(node, "circuitBreaker"));
    }
}
