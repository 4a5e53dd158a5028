using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
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

    /// <summary>Sent to the app in <c>dapr-api-token</c> when set (reference §3: "dapr-api-token: APP_API_TOKEN is added").</summary>
    public string? AppApiToken { get; init; }

    public List<(string PubSub, string Topic, string Route)> Subscriptions { get; } = [];

    /// <summary>Every gRPC <c>PublishEvent</c> received, as Dapr.Client sent it.</summary>
    public ConcurrentQueue<PublishEventRequest> Published { get; } = new();

    /// <summary>The environment the Dapr CLI gives the app (reference §1: DAPR_HTTP_PORT/DAPR_GRPC_PORT; endpoints win over ports).</summary>
    public Dictionary<string, string?> AppEnvironment => new()
    {
        ["APP_ID"] = AppId,
        ["DAPR_HTTP_ENDPOINT"] = HttpEndpoint.ToString().TrimEnd('/'),
        ["DAPR_GRPC_ENDPOINT"] = GrpcEndpoint.ToString().TrimEnd('/'),
    };

    public async Task StartAsync()
    {
        _http = Build(HttpProtocols.Http1);
        // HTTP API (reference §3): health, metadata, publish, invoke.
        _http.MapGet("/v1.0/healthz", () => Results.NoContent());
        _http.MapGet("/v1.0/healthz/outbound", () => Results.NoContent());
        _http.MapGet("/v1.0/metadata", () => Results.Ok(new { id = AppId, subscriptions = Subscriptions.Select(s => new { pubsubname = s.PubSub, topic = s.Topic, rules = new { rules = new[] { new { path = s.Route } } } }) }));
        _http.MapPost("/v1.0/publish/{pubsub}/{**topic}", async (HttpContext c, string pubsub, string topic) =>
        {
            byte[] body = await ReadAll(c.Request.Body);
            // 204 empty on success (reference §3 Publish).
            _broker.Publish(pubsub, topic, Envelope(pubsub, topic, body, c.Request.ContentType ?? "application/json"));
            return Results.NoContent();
        });
        _http.Map("/v1.0/invoke/{app}/method/{**path}", (HttpContext c, string app, string? path) => InvokeAsync(c, app, path ?? ""));
        await _http.StartAsync();
        HttpEndpoint = new Uri(_http.Urls.First());

        // gRPC (h2c): PublishEvent as Dapr.Client 1.19 calls it (reference §4).
        _grpc = Build(HttpProtocols.Http2);
        _grpc.MapPost("/dapr.proto.runtime.v1.Dapr/PublishEvent", async (HttpContext c) =>
        {
            byte[] frame = await ReadAll(c.Request.Body);
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(1, 4));
            PublishEventRequest request = PublishEventRequest.Parser.ParseFrom(frame, 5, length);
            Published.Enqueue(request);
            _broker.Publish(request.PubsubName, request.Topic, Envelope(request.PubsubName, request.Topic, request.Data.ToByteArray(), string.IsNullOrEmpty(request.DataContentType) ? "application/json" : request.DataContentType));
            c.Response.ContentType = "application/grpc";
            c.Response.AppendTrailer("grpc-status", "0");
            await c.Response.Body.WriteAsync(new byte[5]);
        });
        await _grpc.StartAsync();
        GrpcEndpoint = new Uri(_grpc.Urls.First());
    }

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
        if (!_registry.TryGetValue(app, out StandInSidecar? target))
        {
            return Results.Problem(statusCode: 500, title: "ERR_DIRECT_INVOKE", detail: $"app {app} not found");
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

        target.AddToken(request); // the target's own sidecar adds its app token
        try
        {
            using HttpResponseMessage response = await App.SendAsync(request);
            byte[] answer = await response.Content.ReadAsByteArrayAsync();
            // The app's status and body come back unchanged (service invocation is a proxy).
            c.Response.StatusCode = (int)response.StatusCode;
            c.Response.ContentType = response.Content.Headers.ContentType?.ToString();
            await c.Response.Body.WriteAsync(answer);
            return Results.Empty;
        }
        catch (HttpRequestException e)
        {
            return Results.Problem(statusCode: 500, title: "ERR_DIRECT_INVOKE", detail: e.Message);
        }
    }

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
