using System.Buffers.Binary;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace StemeDb.Dapr.Testing;

/// <summary>A gRPC status the stand-in answers with (0: OK), and its message.</summary>
public readonly record struct GrpcStatus(int Code, string? Message)
{
    public const int InvalidArgument = 3;
    public const int PermissionDenied = 7;
    public const int Internal = 13;
    public const int Unauthenticated = 16;

    public static GrpcStatus Ok { get; } = new(0, null);
}

/// <summary>
/// Unary gRPC methods of the Dapr API served over h2c: Dapr.Protos ships the client side only, so the
/// calls are framed here over the public message types (a length-prefixed message in, one out, then trailers).
/// </summary>
internal static class GrpcUnary
{
    public static void Map<TRequest, TResponse>(WebApplication app, string method, MessageParser<TRequest> parser, Func<TRequest, HttpContext, (TResponse? Reply, GrpcStatus Status)> handle)
        where TRequest : IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        app.MapPost($"/dapr.proto.runtime.v1.Dapr/{method}", async (HttpContext c) =>
        {
            using var buffer = new MemoryStream();
            await c.Request.Body.CopyToAsync(buffer, c.RequestAborted);
            byte[] frame = buffer.ToArray();
            c.Response.ContentType = "application/grpc";
            if (frame.Length < 5 || frame[0] != 0)
            {
                Trailers(c, new GrpcStatus(GrpcStatus.Internal, "compressed or torn frame"));
                return;
            }

            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(frame.AsSpan(1, 4));
            (TResponse? reply, GrpcStatus status) = handle(parser.ParseFrom(frame, 5, length), c);
            if (reply is not null && status.Code == 0)
            {
                byte[] payload = reply.ToByteArray();
                byte[] answer = new byte[5 + payload.Length];
                BinaryPrimitives.WriteUInt32BigEndian(answer.AsSpan(1, 4), (uint)payload.Length);
                payload.CopyTo(answer, 5);
                await c.Response.Body.WriteAsync(answer, c.RequestAborted);
            }

            Trailers(c, status);
        });
    }

    public static void Trailers(HttpContext c, GrpcStatus status)
    {
        c.Response.AppendTrailer("grpc-status", status.Code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (status.Message is not null)
        {
            c.Response.AppendTrailer("grpc-message", Uri.EscapeDataString(status.Message));
        }
    }
}
