using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>The envelope the publishing sidecar stores and the subscriber's sidecar delivers (daprd-behaviour §3).</summary>
public sealed class CloudEventEnvelopeTests
{
    private static readonly Dictionary<string, string> NoMetadata = [];

    [Fact]
    public async Task An_event_published_with_DaprClient_reaches_the_app_as_the_envelope_daprd_builds()
    {
        var delivered = new TaskCompletionSource<(string Body, string ContentType, string PubSub, string Traceparent)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using WebApplication app = await TestApps.StartAsync(a =>
        {
            a.MapSubscribeHandler();
            a.MapPost("/orders", async (HttpContext c) =>
            {
                using var reader = new StreamReader(c.Request.Body);
                delivered.TrySetResult((await reader.ReadToEndAsync(), c.Request.ContentType!, c.Request.Headers["pubsubname"].ToString(), c.Request.Headers["traceparent"].ToString()));
                return Results.Ok();
            }).WithTopic("pubsub", "orders");
        });
        var registry = new ConcurrentDictionary<string, StandInSidecar>();
        var broker = new StandInBroker(1);
        await using var subscriber = new StandInSidecar("orders", app.Url(), broker, registry);
        await subscriber.StartAsync();
        await subscriber.LoadSubscriptionsAsync();
        await using StandInSidecar publisher = await TestApps.CallerAsync(broker, registry);
        await using ServiceProvider provider = ApiTokenTests.Client(publisher.AppEnvironment);

        await provider.GetRequiredService<DaprClient>().PublishEventAsync("pubsub", "orders", new { id = "o-1", quantity = 2 });

        (string body, string contentType, string pubsub, string traceparent) = await delivered.Task.WaitAsync(TestApps.Patience);
        Assert.Equal("application/cloudevents+json", contentType);
        Assert.Equal("pubsub", pubsub);
        using JsonDocument document = JsonDocument.Parse(body);
        JsonElement envelope = document.RootElement;
        Assert.True(Guid.TryParse(envelope.GetProperty("id").GetString(), out _));
        Assert.Equal("checkout", envelope.GetProperty("source").GetString());
        Assert.Equal("com.dapr.event.sent", envelope.GetProperty("type").GetString());
        Assert.Equal("1.0", envelope.GetProperty("specversion").GetString());
        Assert.Equal("application/json", envelope.GetProperty("datacontenttype").GetString());
        Assert.Equal("orders", envelope.GetProperty("topic").GetString());
        Assert.Equal("pubsub", envelope.GetProperty("pubsubname").GetString());
        Assert.True(TraceContext.IsValid(envelope.GetProperty("traceparent").GetString()));
        Assert.Equal(envelope.GetProperty("traceparent").GetString(), envelope.GetProperty("traceid").GetString());
        Assert.Equal(envelope.GetProperty("traceparent").GetString(), traceparent);
        Assert.True(envelope.TryGetProperty("tracestate", out _));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", envelope.GetProperty("time").GetString());
        Assert.Equal("o-1", envelope.GetProperty("data").GetProperty("id").GetString()); // JSON embedded, not a string
    }

    [Theory]
    [InlineData("application/json", "{\"a\":1}", "data", JsonValueKind.Object)]
    [InlineData("application/json; charset=utf-8", "[1]", "data", JsonValueKind.Array)]
    [InlineData("application/json", "not json", "data", JsonValueKind.String)]
    [InlineData("text/plain", "{\"a\":1}", "data", JsonValueKind.String)]
    [InlineData("application/problem+json", "{\"a\":1}", "data", JsonValueKind.String)]
    [InlineData("application/octet-stream", "bytes", "data_base64", JsonValueKind.String)]
    public void The_content_type_decides_how_the_data_is_embedded(string contentType, string body, string field, JsonValueKind kind)
    {
        JsonElement envelope = Envelope(body, contentType);
        Assert.Equal(kind, envelope.GetProperty(field).ValueKind);
        Assert.Equal(contentType, envelope.GetProperty("datacontenttype").GetString());
        if (field == "data_base64")
        {
            Assert.Equal(body, Encoding.UTF8.GetString(Convert.FromBase64String(envelope.GetProperty(field).GetString()!)));
            Assert.False(envelope.TryGetProperty("data", out _));
        }
    }

    [Fact]
    public void Without_a_content_type_the_data_is_text_plain()
    {
        JsonElement envelope = Envelope("hello", null);
        Assert.Equal("text/plain", envelope.GetProperty("datacontenttype").GetString());
        Assert.Equal("hello", envelope.GetProperty("data").GetString());
    }

    [Fact]
    public void The_apps_own_CloudEvent_is_kept_with_topic_and_pubsubname_overwritten_and_gaps_filled()
    {
        JsonElement envelope = Envelope("""{"id":"mine","topic":"wrong","pubsubname":"wrong","data":{"x":1},"specversion":"1.0"}""", "application/cloudevents+json");
        Assert.Equal("mine", envelope.GetProperty("id").GetString());
        Assert.Equal("orders", envelope.GetProperty("topic").GetString());
        Assert.Equal("pubsub", envelope.GetProperty("pubsubname").GetString());
        Assert.Equal("Dapr", envelope.GetProperty("source").GetString());
        Assert.Equal("com.dapr.event.sent", envelope.GetProperty("type").GetString());
        Assert.True(envelope.TryGetProperty("time", out _));
        Assert.Equal(1, envelope.GetProperty("data").GetProperty("x").GetInt32());
    }

    [Fact]
    public void Cloudevent_metadata_overrides_the_fields_and_rawPayload_stores_the_body_as_it_is()
    {
        var overrides = new Dictionary<string, string> { ["cloudevent.id"] = "given", ["cloudevent.type"] = "custom", ["cloudevent.subject"] = "s" };
        JsonElement envelope = Envelope("{}", "application/json", overrides);
        Assert.Equal(("given", "custom", "s"), (envelope.GetProperty("id").GetString(), envelope.GetProperty("type").GetString(), envelope.GetProperty("subject").GetString()));

        byte[] raw = CloudEventEnvelope.Create("checkout", "pubsub", "orders", "as is"u8.ToArray(), "text/plain", new Dictionary<string, string> { ["rawPayload"] = "true" }, TraceContext.ChildOf(null), null, out _)!;
        Assert.Equal("as is", Encoding.UTF8.GetString(raw));
    }

    private static JsonElement Envelope(string body, string? contentType, Dictionary<string, string>? metadata = null)
    {
        byte[] envelope = CloudEventEnvelope.Create("checkout", "pubsub", "orders", Encoding.UTF8.GetBytes(body), contentType, metadata ?? NoMetadata, TraceContext.ChildOf(null), null, out string? error)!;
        Assert.Null(error);
        return JsonDocument.Parse(envelope).RootElement.Clone();
    }
}
