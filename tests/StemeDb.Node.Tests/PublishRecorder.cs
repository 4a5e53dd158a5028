using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using Dapr.Client.Autogen.Grpc.v1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;

namespace StemeDb.Node.Tests;

/// <summary>
/// The one sidecar call the Dapr adapter's publishing makes: gRPC <c>dapr.proto.runtime.v1.Dapr/PublishEvent</c>
/// over h2c, as Dapr.Client 1.19 sends it. Records each request (parsed with Dapr's own generated message
/// type) and answers OK. Only this; the full stand-in sidecar is issue #6.
/// </summary>
internal sealed class PublishRecorder : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PublishRecorder(WebApplication app, Uri endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public ConcurrentQueue<PublishEventRequest> Published { get; } = new();

    public static async Task<PublishRecorder> StartAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        WebApplication app = builder.Build();
        PublishRecorder? recorder = null;
        app.MapPost("/dapr.proto.runtime.v1.Dapr/PublishEvent", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            byte[] frame = body.ToArray();
            // gRPC message framing: 1 byte compressed flag, 4 bytes big-endian length, the message.
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(1, 4));
            recorder!.Published.Enqueue(PublishEventRequest.Parser.ParseFrom(frame, 5, length));
            context.Response.ContentType = "application/grpc";
            context.Response.AppendTrailer("grpc-status", "0");
            await context.Response.Body.WriteAsync(new byte[5]); // an empty response message
        });
        await app.StartAsync();
        var address = new Uri(app.Urls.First());
        recorder = new PublishRecorder(app, address);
        return recorder;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
