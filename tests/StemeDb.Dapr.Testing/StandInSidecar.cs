using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Dapr.Client.Autogen.Grpc.v1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace StemeDb.Dapr.Testing;

/// <summary>
/// A stand-in for daprd next to one app, for the parts of the Dapr API StemeDB uses. Each behaviour names
/// the fact of <c>shared/reference/dapr.md</c> it follows. Not covered: actors, state, bindings, gRPC
/// invoke, bulk publish, declarative subscriptions, mTLS.
/// </summary>
public sealed class StandInSidecar : IAsyncDisposable
{
    private static readonly HttpClient App = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly ConcurrentDictionary<string, StandInSidecar> _registry;
    private readonly StandInBroker _broker;
    private WebApplication? _http;
    private WebApplication? _grpc;

    public StandInSidecar(string appId, Uri appAddress, StandInBroker broker, ConcurrentDictionary<string, StandInSidecar> registry)
    {
        AppId = appId;
        AppAddress = appAddress;
        _broker = broker;
        _registry = registry;
        registry[appId] = this;
    }

    public string AppId { get; }

    public Uri AppAddress { get; }

    public Uri HttpEndpoint { get; private set; } = null!;

    public Uri GrpcEndpoint { get; private set; } = null!;

    /// <summary>
    /// DAPR_API_TOKEN: when set, every call from the app must carry it in <c>dapr-api-token</c> (HTTP header
    /// or gRPC metadata), except <c>/v1.0/healthz</c> and <c>/v1.0/healthz/outbound</c>, which health checks
    /// reach without it (docs: operations/security/api-token; GHSA-59m6-82qm-vqgj). Refused: HTTP 401,
    /// gRPC UNAUTHENTICATED.
    /// </summary>
    public string? DaprApiToken { get; init; }

    /// <summary>Sent to the app in <c>dapr-api-token</c> when set (reference §3: "dapr-api-token: APP_API_TOKEN is added").</summary>
    public string? AppApiToken { get; init; }

    public List<(string PubSub, string Topic, string Route)> Subscriptions { get; } = [];

    /// <summary>Every gRPC <c>PublishEvent</c> received, as Dapr.Client sent it.</summary>
    public ConcurrentQueue<PublishEventRequest> Published { get; } = new();

    /// <summary>
    /// The environment the Dapr CLI gives the app (reference §1, standalone/run.go getEnv: APP_ID, APP_PORT,
    /// DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_METRICS_PORT, APP_PROTOCOL; APP_CHANNEL_ADDRESS only when not
    /// 127.0.0.1), plus APP_API_TOKEN when the sidecar has one (reference §3). The SDK turns the ports into
    /// http://localhost:port (reference §4, DaprDefaults).
    /// </summary>
    public Dictionary<string, string?> AppEnvironment
    {
        get
        {
            Dictionary<string, string?> environment = new()
            {
                ["APP_ID"] = AppId,
                ["APP_PORT"] = AppAddress.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["APP_PROTOCOL"] = "http",
                ["DAPR_HTTP_PORT"] = HttpEndpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["DAPR_GRPC_PORT"] = GrpcEndpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["DAPR_METRICS_PORT"] = "0",
            };
            if (AppAddress.Host != "127.0.0.1")
            {
                environment["APP_CHANNEL_ADDRESS"] = AppAddress.Host;
            }

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

    public async Task StartAsync()
    {
        _http = Build(HttpProtocols.Http1);
        _http.Use(async (c, next) =>
        {
            if (DaprApiToken is null || c.Request.Path.Equals("/v1.0/healthz") || c.Request.Path.Equals("/v1.0/healthz/outbound") || HasToken(c))
            {
                await next(c);
                return;
            }

            // The status is the documented part; the error body here is this stand-in's own wording.
            await DaprError(401, "ERR_UNAUTHORIZED", "invalid api token").ExecuteAsync(c);
        });
        // The dapr-app-id header names the target before any route does; the whole path is the method and
        // the header is not forwarded (reference §3 Service invocation, way 1).
        _http.Use(async (c, next) =>
        {
            if (!c.Request.Path.StartsWithSegments("/v1.0") && c.Request.Headers.TryGetValue("dapr-app-id", out var target) && !string.IsNullOrEmpty(target))
            {
                IResult result = await InvokeAsync(c, target.ToString(), c.Request.Path.Value!.TrimStart('/'));
                await result.ExecuteAsync(c);
                return;
            }

            await next(c);
        });
        // HTTP API (reference §3): health, metadata, publish, invoke.
        _http.MapGet("/v1.0/healthz", () => Results.NoContent());
        _http.MapGet("/v1.0/healthz/outbound", () => Results.NoContent());
        // HTTP flattens rules to an array (reference §3 Metadata; gRPC has rules.rules).
        _http.MapGet("/v1.0/metadata", () => Results.Ok(new
        {
            id = AppId,
            runtimeVersion = RuntimeVersion,
            components = PubSubNames.Select(n => new { name = n, type = "pubsub.redis", version = "v1", capabilities = Array.Empty<string>() }),
            subscriptions = Subscriptions.Select(s => new { pubsubname = s.PubSub, topic = s.Topic, rules = new[] { new { match = "", path = s.Route } }, type = "PROGRAMMATIC" }),
            appConnectionProperties = new { port = AppAddress.Port, protocol = "http", channelAddress = AppAddress.Host },
        }));
        _http.MapPost("/v1.0/publish/{pubsub}/{**topic}", async (HttpContext c, string pubsub, string topic) =>
        {
            if (!PubSubNames.Contains(pubsub))
            {
                return DaprError(404, "ERR_PUBSUB_NOT_FOUND", $"pubsub {pubsub} not found");
            }

            byte[] body = await ReadAll(c.Request.Body);
            // 204 empty on success (reference §3 Publish).
            _broker.Publish(pubsub, topic, Envelope(pubsub, topic, body, c.Request.ContentType ?? "application/json"));
            return Results.NoContent();
        });
        _http.Map("/v1.0/invoke/{app}/method/{**path}", (HttpContext c, string app, string? path) => InvokeAsync(c, app, path ?? ""));
        await _http.StartAsync();
        HttpEndpoint = new Uri(_http.Urls.First());

        // gRPC over h2c (reference §4: the builder enables Http2UnencryptedSupport for http://): PublishEvent
        // and GetMetadata as Dapr.Client 1.19 calls them. Dapr.Protos ships the client side only, so the
        // unary calls are served here over their public message types.
        _grpc = Build(HttpProtocols.Http2);
        _grpc.Use(async (c, next) =>
        {
            if (DaprApiToken is null || HasToken(c))
            {
                await next(c);
                return;
            }

            c.Response.ContentType = "application/grpc";
            c.Response.AppendTrailer("grpc-status", "16"); // UNAUTHENTICATED
            c.Response.AppendTrailer("grpc-message", "invalid api token");
        });
        Unary(_grpc, "PublishEvent", PublishEventRequest.Parser, request =>
        {
            Published.Enqueue(request);
            _broker.Publish(request.PubsubName, request.Topic, Envelope(request.PubsubName, request.Topic, request.Data.ToByteArray(), string.IsNullOrEmpty(request.DataContentType) ? "application/json" : request.DataContentType));
            return new Google.Protobuf.WellKnownTypes.Empty();
        });
        Unary(_grpc, "GetMetadata", GetMetadataRequest.Parser, _ => Metadata());
        await _grpc.StartAsync();
        GrpcEndpoint = new Uri(_grpc.Urls.First());
    }

    /// <summary>The version this stand-in answers as: the Dapr release whose SDK (1.19) the apps use.</summary>
    public const string RuntimeVersion = "1.19.0-standin";

    /// <summary>The pub/sub components this sidecar has loaded (the names in <c>components/</c>).</summary>
    public List<string> PubSubNames { get; init; } = ["pubsub"];

    /// <summary>Reads the app's subscriptions once, as daprd does at start (reference §6: "subscriptions are not re-read later").</summary>
    public async Task LoadSubscriptionsAsync()
    {
        using HttpRequestMessage request = new(HttpMethod.Get, new Uri(AppAddress, "/dapr/subscribe"));
        AddToken(request);
        using HttpResponseMessage response = await App.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return; // "404: no subscriptions"
        }

        response.EnsureSuccessStatusCode();
        using JsonDocument list = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        foreach (JsonElement entry in list.RootElement.EnumerateArray())
        {
            // Keys are matched case-insensitively: .NET writes "pubsubName" (reference §6).
            string pubsub = Property(entry, "pubsubname")!;
            string topic = Property(entry, "topic")!;
            string? route = Property(entry, "route");
            if (route is null && entry.EnumerateObject().FirstOrDefault(p => p.Name.Equals("routes", StringComparison.OrdinalIgnoreCase)).Value is { ValueKind: JsonValueKind.Object } routes)
            {
                route = Property(routes, "default");
            }

            if (route is null)
            {
                continue; // "an entry with no route is dropped with a warning"
            }

            route = route.StartsWith('/') ? route : "/" + route; // daprd prepends "/"
            Subscriptions.Add((pubsub, topic, route));
            _broker.Subscribe(pubsub, topic, route, this);
        }
    }

    /// <summary>
    /// Delivers a CloudEvent to the app and applies its answer (reference §3 delivery table): 2xx with no or
    /// SUCCESS status acks; RETRY or another error is retried (the inbound resiliency policy, 3 tries); DROP
    /// or 404 drops. Returns whether the app took it.
    /// </summary>
    public async Task<bool> DeliverAsync(string route, byte[] cloudEvent)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            using HttpRequestMessage request = new(HttpMethod.Post, new Uri(AppAddress, route))
            {
                Content = new ByteArrayContent(cloudEvent),
            };
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/cloudevents+json");
            AddToken(request);
            try
            {
                using HttpResponseMessage response = await App.SendAsync(request);
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return false;
                }

                if (response.IsSuccessStatusCode)
                {
                    string status = await Status(response);
                    if (status is "SUCCESS" or "")
                    {
                        return true;
                    }

                    if (status == "DROP")
                    {
                        return false;
                    }
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(100);
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (WebApplication? app in new[] { _http, _grpc })
        {
            if (app is not null)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
    }

    private async Task<IResult> InvokeAsync(HttpContext c, string app, string path)
    {
        if (path.Length == 0)
        {
            return DaprError(400, "ERR_DIRECT_INVOKE_METHOD_NOT_FOUND", "invalid method name");
        }

        if (!_registry.TryGetValue(app, out StandInSidecar? target))
        {
            return DaprError(500, "ERR_DIRECT_INVOKE", $"failed to invoke, id: {app}, err: couldn't find service: {app}");
        }

        var uri = new Uri(target.AppAddress, "/" + path + c.Request.QueryString);
        using HttpRequestMessage request = new(new HttpMethod(c.Request.Method), uri);
        byte[] body = await ReadAll(c.Request.Body);
        if (body.Length > 0 || c.Request.ContentType is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (c.Request.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", c.Request.ContentType);
            }
        }

        // Caller headers reach the app but hop-by-hop ones (daprd-behaviour §1: pkg/messaging/v1/util.go
        // InternalMetadataToHTTPHeader), the caller's own dapr-api-token and dapr-app-id (its sidecar's, not the app's).
        foreach ((string name, Microsoft.Extensions.Primitives.StringValues values) in c.Request.Headers)
        {
            if (!IsHopByHop(name) && !name.Equals("dapr-api-token", StringComparison.OrdinalIgnoreCase) && !name.Equals("dapr-app-id", StringComparison.OrdinalIgnoreCase)
                && !name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) && !name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        target.AddToken(request); // the target's own sidecar adds its app token
        // Headers daprd adds toward the callee (reference §3: dapr-caller-app-id, dapr-callee-app-id).
        request.Headers.TryAddWithoutValidation("dapr-caller-app-id", AppId);
        request.Headers.TryAddWithoutValidation("dapr-callee-app-id", app);
        try
        {
            using HttpResponseMessage response = await App.SendAsync(request);
            byte[] answer = await response.Content.ReadAsByteArrayAsync();
            // The app's status and body come back unchanged (service invocation is a proxy).
            c.Response.StatusCode = (int)response.StatusCode;
            c.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            foreach ((string name, IEnumerable<string> values) in response.Headers)
            {
                if (!IsHopByHop(name))
                {
                    c.Response.Headers[name] = values.ToArray();
                }
            }

            await c.Response.Body.WriteAsync(answer);
            return Results.Empty;
        }
        catch (HttpRequestException e)
        {
            return DaprError(500, "ERR_DIRECT_INVOKE", $"failed to invoke, id: {app}, err: {e.Message}");
        }
    }

    /// <summary>Headers daprd does not pass on, either way (pkg/channel/http/http_channel.go copyHeader).</summary>
    private static bool IsHopByHop(string name) =>
        name.ToLowerInvariant() is "connection" or "keep-alive" or "proxy-connection" or "transfer-encoding" or "upgrade"
            or "http2-settings" or "te" or "trailer" or "proxy-authorization" or "proxy-authenticate" or "content-length"
        || name.EndsWith("-bin", StringComparison.OrdinalIgnoreCase);

    /// <summary>Dapr's error body (reference §3: <c>{"errorCode":"ERR_...","message":"..."}</c>).</summary>
    private static IResult DaprError(int status, string code, string message) =>
        Results.Json(new { errorCode = code, message }, statusCode: status);

    private GetMetadataResponse Metadata()
    {
        var metadata = new GetMetadataResponse
        {
            Id = AppId,
            RuntimeVersion = RuntimeVersion,
            AppConnectionProperties = new AppConnectionProperties { Port = AppAddress.Port, Protocol = "http", ChannelAddress = AppAddress.Host },
        };
        metadata.RegisteredComponents.AddRange(PubSubNames.Select(n => new RegisteredComponents { Name = n, Type = "pubsub.redis", Version = "v1" }));
        foreach (var s in Subscriptions)
        {
            var subscription = new PubsubSubscription { PubsubName = s.PubSub, Topic = s.Topic, Rules = new PubsubSubscriptionRules(), Type = PubsubSubscriptionType.Programmatic };
            subscription.Rules.Rules.Add(new PubsubSubscriptionRule { Path = s.Route });
            metadata.Subscriptions.Add(subscription);
        }

        return metadata;
    }

    /// <summary>One unary gRPC method: a length-prefixed request message in, a length-prefixed reply and grpc-status 0 out.</summary>
    private static void Unary<TRequest, TResponse>(WebApplication app, string method, Google.Protobuf.MessageParser<TRequest> parser, Func<TRequest, TResponse> handle)
        where TRequest : Google.Protobuf.IMessage<TRequest>
        where TResponse : Google.Protobuf.IMessage<TResponse>
    {
        app.MapPost($"/dapr.proto.runtime.v1.Dapr/{method}", async (HttpContext c) =>
        {
            byte[] frame = await ReadAll(c.Request.Body);
            c.Response.ContentType = "application/grpc";
            if (frame.Length < 5 || frame[0] != 0)
            {
                c.Response.AppendTrailer("grpc-status", "13"); // INTERNAL: compressed or torn frame
                return;
            }

            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(1, 4));
            TResponse reply = handle(parser.ParseFrom(frame, 5, length));
            byte[] payload = Google.Protobuf.MessageExtensions.ToByteArray(reply);
            byte[] answer = new byte[5 + payload.Length];
            BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(1, 4), (uint)payload.Length);
            payload.CopyTo(answer, 5);
            c.Response.AppendTrailer("grpc-status", "0");
            await c.Response.Body.WriteAsync(answer);
        });
    }

    private bool HasToken(HttpContext c) =>
        c.Request.Headers.TryGetValue("dapr-api-token", out var token) && token.ToString() == DaprApiToken;

    private void AddToken(HttpRequestMessage request)
    {
        if (AppApiToken is not null)
        {
            request.Headers.Add("dapr-api-token", AppApiToken);
        }
    }

    /// <summary>The CloudEvents 1.0 envelope daprd wraps around a published payload (reference §5).</summary>
    private byte[] Envelope(string pubsub, string topic, byte[] data, string contentType)
    {
        object payload;
        try
        {
            payload = JsonDocument.Parse(data).RootElement.Clone();
        }
        catch (JsonException)
        {
            payload = Encoding.UTF8.GetString(data);
        }

        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["specversion"] = "1.0",
            ["id"] = Guid.NewGuid().ToString(),
            ["source"] = AppId,
            ["type"] = "com.dapr.event.sent",
            ["datacontenttype"] = contentType,
            ["topic"] = topic,
            ["pubsubname"] = pubsub,
            ["time"] = DateTimeOffset.UtcNow.ToString("O"),
            ["traceid"] = "00-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..8]) + "-01",
            ["data"] = payload,
        });
    }

    private static async Task<string> Status(HttpResponseMessage response)
    {
        string body = await response.Content.ReadAsStringAsync();
        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("status", out JsonElement s) ? s.GetString() ?? "" : "";
        }
        catch (JsonException)
        {
            return ""; // "2xx with empty or non-JSON body: SUCCESS"
        }
    }

    private static string? Property(JsonElement element, string name) =>
        element.EnumerateObject().FirstOrDefault(p => p.Name.Equals(name, StringComparison.OrdinalIgnoreCase)) is { Value.ValueKind: JsonValueKind.String } p ? p.Value.GetString() : null;

    private static async Task<byte[]> ReadAll(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private static WebApplication Build(HttpProtocols protocols)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = protocols));
        return builder.Build();
    }
}
