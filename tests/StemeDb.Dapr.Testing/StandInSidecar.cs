using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Dapr.Client.Autogen.Grpc.v1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// A stand-in for daprd next to one app, for the parts of the Dapr API StemeDB uses, following
/// <c>shared/reference/daprd-behaviour.md</c> (each behaviour names its daprd source). Opt-in: resiliency
/// (<see cref="Resiliency"/>) and component files (<see cref="Components"/>). Not covered: actors, state,
/// bindings, gRPC invoke, bulk publish, declarative subscriptions, CEL routing rules, mTLS, app health probes.
/// </summary>
public sealed class StandInSidecar : IAsyncDisposable
{
    /// <summary>The version this stand-in answers as: the Dapr release whose SDK (1.19) the apps use.</summary>
    public const string RuntimeVersion = "1.19.0-standin";

    private readonly StandInBroker _broker;
    private readonly ServiceInvocation _invocation;
    private readonly Dictionary<string, PubSubComponent> _components = [];
    private readonly Dictionary<string, string> _groups = [];
    private readonly Dictionary<string, PubSubConsumer> _consumers = [];
    private readonly List<Subscription> _subscriptions = [];
    private AppChannel? _channel;
    private WebApplication? _http;
    private WebApplication? _grpc;
    private volatile bool _initialized;
    private int _subscriptionsRead;

    public StandInSidecar(string appId, Uri appAddress, StandInBroker broker, ConcurrentDictionary<string, StandInSidecar> registry)
    {
        AppId = appId;
        AppAddress = appAddress;
        _broker = broker;
        Registry = registry;
        _invocation = new ServiceInvocation(this);
        registry[appId] = this;
    }

    public string AppId { get; }

    public Uri AppAddress { get; }

    public Uri HttpEndpoint { get; private set; } = null!;

    public Uri GrpcEndpoint { get; private set; } = null!;

    /// <summary>
    /// DAPR_API_TOKEN: when set, every call from the app must carry it in <c>dapr-api-token</c> (HTTP header
    /// or gRPC metadata), except <c>GET /v1.0/healthz</c> and <c>GET /v1.0/healthz/outbound</c>. Refused:
    /// HTTP 401 <c>text/plain</c> <c>invalid api token</c>, gRPC UNAUTHENTICATED <c>Unauthorized</c>.
    /// </summary>
    public string? DaprApiToken { get; init; }

    /// <summary>APP_API_TOKEN: sent to the app in <c>dapr-api-token</c> on every call (invocations, deliveries, the subscription read).</summary>
    public string? AppApiToken { get; init; }

    /// <summary>
    /// The resiliency policies this sidecar loaded, e.g. <c>ResiliencyPolicies.Load("components/resiliency.yaml")</c>;
    /// null (the default): none, so no retries, no breakers and no timeout beyond a generous bound.
    /// </summary>
    public ResiliencyPolicies? Resiliency { get; init; }

    /// <summary>
    /// The pub/sub components, e.g. <c>PubSubComponent.LoadAll("components/pubsub.yaml")</c> (scopes,
    /// consumerID, maxLenApprox, concurrency, processingTimeout, redeliverInterval); a component whose
    /// <c>scopes:</c> leave this app out is not loaded. Null (the default): one default component per
    /// <see cref="PubSubNames"/> entry.
    /// </summary>
    public IReadOnlyList<PubSubComponent>? Components { get; init; }

    /// <summary>The pub/sub components this sidecar has when <see cref="Components"/> is not given (defaults: consumerID = app-id).</summary>
    public List<string> PubSubNames { get; init; } = ["pubsub"];

    /// <summary>The namespace (self-hosted: <c>default</c>), sent as <c>dapr-caller-namespace</c>.</summary>
    public string Namespace { get; init; } = "default";

    /// <summary>DAPR_HOST_IP, which the Dapr CLI sets to 127.0.0.1: the <c>X-Forwarded-For</c> and <c>Forwarded</c> address.</summary>
    public string HostAddress { get; init; } = "127.0.0.1";

    /// <summary>The host name daprd reports in <c>X-Forwarded-Host</c>.</summary>
    public string HostName { get; init; } = Dns.GetHostName();

    /// <summary>Where the sidecar logs what daprd logs as errors and warnings (an unreadable subscription list, a barred topic).</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>The subscriptions that started (barred ones do not).</summary>
    public List<(string PubSub, string Topic, string Route)> Subscriptions { get; } = [];

    /// <summary>Every gRPC <c>PublishEvent</c> accepted, as Dapr.Client sent it.</summary>
    public ConcurrentQueue<PublishEventRequest> Published { get; } = new();

    /// <summary>Whether initialisation ended (the app answered its subscription read): <c>/v1.0/healthz</c> answers 204 from then on.</summary>
    public bool IsInitialized => _initialized;

    /// <summary>The consumer group (resolved consumerID) this sidecar reads each loaded pubsub with; <c>{uuid}</c> is new each start.</summary>
    public IReadOnlyDictionary<string, string> ConsumerGroupNames => _groups;

    /// <summary>
    /// The environment the Dapr CLI gives the app (standalone/run.go getEnv: APP_ID, APP_PORT,
    /// DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_METRICS_PORT, APP_PROTOCOL; APP_CHANNEL_ADDRESS always, empty
    /// for 127.0.0.1), plus APP_API_TOKEN and DAPR_API_TOKEN when the sidecar has them.
    /// </summary>
    public Dictionary<string, string?> AppEnvironment
    {
        get
        {
            Dictionary<string, string?> environment = new()
            {
                ["APP_ID"] = AppId,
                ["APP_PORT"] = AppAddress.Port.ToString(CultureInfo.InvariantCulture),
                ["APP_PROTOCOL"] = "http",
                ["DAPR_HTTP_PORT"] = HttpEndpoint.Port.ToString(CultureInfo.InvariantCulture),
                ["DAPR_GRPC_PORT"] = GrpcEndpoint.Port.ToString(CultureInfo.InvariantCulture),
                ["DAPR_METRICS_PORT"] = "0",
            };
            // Run-file mode always sets it, empty when the app has no appChannelAddress (cli: pkg/standalone/run.go getEnv).
            environment["APP_CHANNEL_ADDRESS"] = AppAddress.Host == "127.0.0.1" ? "" : AppAddress.Host;

            if (AppApiToken is not null)
            {
                environment["APP_API_TOKEN"] = AppApiToken;
            }

            if (DaprApiToken is not null)
            {
                environment["DAPR_API_TOKEN"] = DaprApiToken;
            }

            return environment;
        }
    }

    internal ConcurrentDictionary<string, StandInSidecar> Registry { get; }

    internal AppChannel Channel => _channel ??= new AppChannel(AppAddress, AppApiToken);

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        // Components are loaded at start; templated consumerIDs ({uuid}) resolve now.
        // daprd: pkg/runtime/processor/pubsub/pubsub.go Init
        foreach (PubSubComponent component in Components ?? [.. PubSubNames.Select(n => new PubSubComponent(n))])
        {
            if (component.AppScopes.Count == 0 || component.AppScopes.Contains(AppId))
            {
                _components[component.Name] = component;
                _groups[component.Name] = component.ConsumerGroupFor(AppId, Namespace);
            }
        }

        _http = Build(HttpProtocols.Http1);
        _http.Use(async (c, next) =>
        {
            string rawPath = c.Features.Get<IHttpRequestFeature>()!.RawTarget.Split('?', 2)[0];
            if (!MethodPath.TryDecodeOnce(rawPath, out string path))
            {
                c.Response.StatusCode = 400; // Go's server refuses a malformed escape before any handler
                return;
            }

            // daprd: pkg/api/http/middlewares.go APITokenAuthMiddleware, isRouteExcludedFromAPITokenAuth
            bool healthProbe = HttpMethods.IsGet(c.Request.Method) && path is "/v1.0/healthz" or "/v1.0/healthz/outbound";
            if (DaprApiToken is not null && !healthProbe && !HasToken(c.Request.Headers["dapr-api-token"]))
            {
                await DaprErrors.InvalidApiTokenAsync(c);
                return;
            }

            if (IsApiRoute(path))
            {
                await next(c);
                return;
            }

            // Any other route is service invocation: the target from the header, Basic auth or the invoke path.
            // daprd: pkg/api/http/directmessaging.go onDirectMessage
            if (InvocationTarget.Find(path, c.Request.Headers) is { } target)
            {
                await _invocation.InvokeAsync(c, target);
                return;
            }

            await DaprErrors.WriteAsync(c, 404, DaprErrors.DirectInvoke, "failed getting app id either from the URL path or the header dapr-app-id");
        });
        // daprd: pkg/api/http/healthz.go onGetHealthz (500 until initialisation ends)
        _http.MapGet("/v1.0/healthz", (HttpContext c) =>
        {
            if (c.Request.Query["appid"] is { Count: > 0 } appId && appId.ToString() != AppId)
            {
                return DaprErrors.WriteAsync(c, 500, "ERR_HEALTH_APPID_NOT_MATCH", "dapr app-id does not match");
            }

            if (!_initialized)
            {
                return DaprErrors.WriteAsync(c, 500, "ERR_HEALTH_NOT_READY", "dapr is not ready: [app channel not initialized]");
            }

            c.Response.StatusCode = 204;
            return Task.CompletedTask;
        });
        // daprd: pkg/api/http/healthz.go onGetOutboundHealthz (204 once components and servers are up)
        _http.MapGet("/v1.0/healthz/outbound", () => Results.NoContent());
        // HTTP flattens rules to an array (gRPC has rules.rules).
        // daprd: pkg/api/http/metadata.go onGetMetadata
        _http.MapGet("/v1.0/metadata", () => Results.Ok(new
        {
            id = AppId,
            runtimeVersion = RuntimeVersion,
            components = _components.Values.Select(p => new { name = p.Name, type = p.Type, version = "v1", capabilities = Array.Empty<string>() }),
            subscriptions = Subscriptions.Select(s => new { pubsubname = s.PubSub, topic = s.Topic, rules = new[] { new { match = "", path = s.Route } }, type = "PROGRAMMATIC" }),
            appConnectionProperties = new { port = AppAddress.Port, protocol = "http", channelAddress = AppAddress.Host },
        }));
        // daprd: pkg/api/http/http.go onPublish (metadata.<k> query parameters, 204 on success)
        _http.MapPost("/v1.0/publish/{pubsub}/{**topic}", async (HttpContext c, string pubsub, string? topic) =>
        {
            using var buffer = new MemoryStream();
            await c.Request.Body.CopyToAsync(buffer, c.RequestAborted);
            Dictionary<string, string> metadata = c.Request.Query
                .Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal))
                .ToDictionary(q => q.Key["metadata.".Length..], q => q.Value.ToString());
            if (Publish(pubsub, topic ?? "", buffer.ToArray(), c.Request.ContentType, metadata, c.Request.Headers["traceparent"], c.Request.Headers["tracestate"]) is { } refusal)
            {
                await DaprErrors.WriteAsync(c, refusal.Status, refusal.Code, refusal.Message);
                return;
            }

            c.Response.StatusCode = 204;
        });
        await _http.StartAsync(cancellationToken);
        HttpEndpoint = new Uri(_http.Urls.First());

        // gRPC over h2c: PublishEvent and GetMetadata as Dapr.Client 1.19 calls them.
        _grpc = Build(HttpProtocols.Http2);
        _grpc.Use(async (c, next) =>
        {
            // daprd: pkg/api/grpc/auth.go checkAPITokenInContext
            if (DaprApiToken is null || HasToken(c.Request.Headers["dapr-api-token"]))
            {
                await next(c);
                return;
            }

            c.Response.ContentType = "application/grpc";
            GrpcUnary.Trailers(c, new GrpcStatus(GrpcStatus.Unauthenticated, "Unauthorized"));
        });
        // daprd: pkg/api/grpc/grpc.go PublishEvent (unprefixed metadata; not found → InvalidArgument, scopes → PermissionDenied)
        GrpcUnary.Map<PublishEventRequest, Google.Protobuf.WellKnownTypes.Empty>(_grpc, "PublishEvent", PublishEventRequest.Parser, (request, c) =>
        {
            var metadata = request.Metadata.ToDictionary(m => m.Key, m => m.Value);
            if (Publish(request.PubsubName, request.Topic, request.Data.ToByteArray(), request.DataContentType, metadata, c.Request.Headers["traceparent"], c.Request.Headers["tracestate"]) is { } refusal)
            {
                return (null, new GrpcStatus(refusal.Status == 403 ? GrpcStatus.PermissionDenied : GrpcStatus.InvalidArgument, refusal.Message));
            }

            Published.Enqueue(request);
            return (new Google.Protobuf.WellKnownTypes.Empty(), GrpcStatus.Ok);
        });
        GrpcUnary.Map<GetMetadataRequest, GetMetadataResponse>(_grpc, "GetMetadata", GetMetadataRequest.Parser, (_, _) => (Metadata(), GrpcStatus.Ok));
        await _grpc.StartAsync(cancellationToken);
        GrpcEndpoint = new Uri(_grpc.Urls.First());
    }

    /// <summary>
    /// Reads the app's subscriptions once, as daprd does when the app port opens, and starts those the
    /// component's scopes allow; initialisation ends here (<c>/v1.0/healthz</c> turns 204). A non-200 answer
    /// means no subscriptions; an app that never answers throws.
    /// </summary>
    // daprd: pkg/runtime/processor/subscriber/subscriber.go initProgrammaticSubscriptions; pkg/runtime/runtime.go initRuntime
    public async Task LoadSubscriptionsAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _subscriptionsRead, 1) == 1)
        {
            return; // subscriptions are not re-read later
        }

        try
        {
            foreach (Subscription subscription in await SubscriptionDiscovery.LoadAsync(Channel, AppId, Logger, cancellationToken))
            {
                Subscribe(subscription);
            }
        }
        catch
        {
            _subscriptionsRead = 0;
            throw;
        }

        _initialized = true;
    }

    /// <summary>
    /// Delivers a CloudEvent to the app once, with the inbound resiliency of <paramref name="pubsub"/>, and
    /// returns whether the app took it (see <see cref="AppResponseStatus.Classify"/> for how answers are read).
    /// </summary>
    public async Task<bool> DeliverAsync(string route, byte[] cloudEvent, string pubsub = "pubsub", CancellationToken cancellationToken = default) =>
        await EventDelivery.DeliverAsync(Channel, InboundPolicy(pubsub), pubsub, route, cloudEvent, new Dictionary<string, string>(), cancellationToken) == DeliveryOutcome.Delivered;

    public async ValueTask DisposeAsync()
    {
        PubSubConsumer[] consumers;
        lock (_subscriptions)
        {
            consumers = [.. _consumers.Values];
        }

        foreach (PubSubConsumer consumer in consumers)
        {
            await consumer.StopAsync();
        }

        foreach (WebApplication? app in new[] { _http, _grpc })
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
    }

    /// <summary>Starts one subscription, unless its pubsub is not loaded or its scopes bar this app.</summary>
    // daprd: pkg/runtime/pubsub/adapter.go IsOperationAllowed (barred subscriptions don't start)
    internal void Subscribe(Subscription subscription)
    {
        if (!_components.TryGetValue(subscription.PubSub, out PubSubComponent? component))
        {
            Logger.LogWarning("{AppId} subscribes to {Topic} on pubsub {PubSub}, which is not loaded", AppId, subscription.Topic, subscription.PubSub);
            return;
        }

        if (!component.Scopes.MaySubscribe(AppId, subscription.Topic))
        {
            Logger.LogWarning("subscribing to topic {Topic} on pubsub {PubSub} is not allowed for app id {AppId}", subscription.Topic, subscription.PubSub, AppId);
            return;
        }

        PubSubConsumer? consumer;
        lock (_subscriptions)
        {
            _subscriptions.Add(subscription);
            Subscriptions.Add((subscription.PubSub, subscription.Topic, subscription.Route));
            if (!_consumers.TryGetValue(subscription.PubSub, out consumer))
            {
                // One consumer (queue and workers) per component, shared by its topics.
                consumer = new PubSubConsumer(_broker, this, component, _groups[subscription.PubSub]);
                _consumers[subscription.PubSub] = consumer;
            }
        }

        consumer.Subscribe(subscription);
    }

    /// <summary>One delivery for the broker; a dropped or exhausted event goes to the subscription's dead-letter topic when it has one.</summary>
    internal async Task<DeliveryOutcome> DeliverEntryAsync(Subscription subscription, StreamEntry entry, CancellationToken cancellationToken)
    {
        DeliveryOutcome outcome = await EventDelivery.DeliverAsync(Channel, InboundPolicy(subscription.PubSub), subscription.PubSub, subscription.Route, entry.Data, entry.Metadata, cancellationToken);
        // daprd: pkg/runtime/subscription/subscription.go sendToDeadLetter (same pubsub, original envelope, scopes apply)
        if (outcome is DeliveryOutcome.Dropped or DeliveryOutcome.Exhausted && subscription.DeadLetterTopic is { } deadLetter
            && _components.TryGetValue(subscription.PubSub, out PubSubComponent? component))
        {
            if (component.Scopes.MayPublish(AppId, deadLetter))
            {
                _broker.Publish(subscription.PubSub, deadLetter, entry.Data, entry.Metadata, component.MaxLenApprox);
            }
            else
            {
                Logger.LogError("dead-letter topic {Topic} is not allowed for app id {AppId}: event lost", deadLetter, AppId);
            }
        }

        return outcome;
    }

    private PolicyDefinition InboundPolicy(string pubsub) =>
        Resiliency is { } resiliency && resiliency.AppliesTo(AppId) ? resiliency.ComponentInbound(pubsub) : PolicyDefinition.None;

    /// <summary>Publish as HTTP and gRPC share it: null when stored, else the refusal.</summary>
    private (int Status, string Code, string Message)? Publish(string pubsub, string topic, byte[] data, string? contentType, Dictionary<string, string> metadata, string? traceparent, string? tracestate)
    {
        // daprd: pkg/api/errors/pubsub.go NotFound, PublishForbidden
        if (!_components.TryGetValue(pubsub, out PubSubComponent? component))
        {
            return (404, "ERR_PUBSUB_NOT_FOUND", $"pubsub {pubsub} is not found");
        }

        if (topic.Length == 0)
        {
            return (404, "ERR_TOPIC_NAME_EMPTY", $"topic is empty in pubsub {pubsub}");
        }

        if (!component.Scopes.MayPublish(AppId, topic))
        {
            return (403, "ERR_PUBSUB_FORBIDDEN", $"topic {topic} is not allowed for app id {AppId}");
        }

        byte[]? envelope = CloudEventEnvelope.Create(AppId, pubsub, topic, data, contentType, metadata, TraceContext.ChildOf(traceparent), string.IsNullOrEmpty(tracestate) ? null : tracestate, out string? error);
        if (envelope is null)
        {
            return (400, "ERR_PUBSUB_CLOUD_EVENTS_SER", error!);
        }

        _broker.Publish(pubsub, topic, envelope, metadata, component.MaxLenApprox);
        return null;
    }

    private static bool IsApiRoute(string path) =>
        path is "/v1.0/healthz" or "/v1.0/healthz/outbound" or "/v1.0/metadata" || path.StartsWith("/v1.0/publish/", StringComparison.Ordinal);

    private GetMetadataResponse Metadata()
    {
        var metadata = new GetMetadataResponse
        {
            Id = AppId,
            RuntimeVersion = RuntimeVersion,
            AppConnectionProperties = new AppConnectionProperties { Port = AppAddress.Port, Protocol = "http", ChannelAddress = AppAddress.Host },
        };
        metadata.RegisteredComponents.AddRange(_components.Values.Select(p => new RegisteredComponents { Name = p.Name, Type = p.Type, Version = "v1" }));
        foreach (var s in Subscriptions)
        {
            var subscription = new PubsubSubscription { PubsubName = s.PubSub, Topic = s.Topic, Rules = new PubsubSubscriptionRules(), Type = PubsubSubscriptionType.Programmatic };
            subscription.Rules.Rules.Add(new PubsubSubscriptionRule { Path = s.Route });
            metadata.Subscriptions.Add(subscription);
        }

        return metadata;
    }

    private bool HasToken(Microsoft.Extensions.Primitives.StringValues token) => token.Count == 1 && token.ToString() == DaprApiToken;

    private static WebApplication Build(HttpProtocols protocols)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = protocols));
        return builder.Build();
    }
}
