using System.Diagnostics;
using System.Threading.Channels;
using System.Text.Json;
using Microsoft.Extensions.Options;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;
using StemeDb.Hosting;

namespace StemeDb.Node;

/// <summary>
/// <c>POST /internal/v1/batch</c>: several internal calls in one exchange, as a busy gateway or peer sends
/// them (<see cref="CoalescingHandler"/>). Each call runs through the same handler as when it comes alone,
/// all at once, and is answered with the status, content type and body it would have had alone; one call's
/// refusal or failure is its own. Only the calls of the busy paths travel in a batch (writes, reads and
/// retractions from gateways; replica reads from peers, which need the cluster id as alone). Answers stream
/// back as JSON lines as the calls finish, so a slow call holds up no other (<see cref="BatchAnswer"/>). The batch
/// itself passes the same token and cluster checks as any internal call; a malformed batch is a 400.
/// </summary>
public static class BatchApi
{
    /// <summary>Calls in one batch: what a client puts in one (they all run at once here).</summary>
    public const int MaxCalls = CoalescingHandler.MaxCalls;

    public static IEndpointRouteBuilder MapBatchApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(InternalRoutes.Batch, RunAsync);
        return app;
    }

    private static async Task RunAsync(HttpContext context, ClusterNode node, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json, ILoggerFactory logs)
    {
        ILogger logger = logs.CreateLogger(typeof(BatchApi).FullName!);
        List<BatchCall>? calls = await ReadAsync(context, json.Value.SerializerOptions);
        if (calls is null)
        {
            return; // answered
        }

        // A peer's call carries this cluster's id (InternalHeaders refused any other): only then may it hold peer calls.
        bool fromPeer = context.Request.Headers[InternalHeaders.Cluster].ToString() == node.ClusterId.ToString();
        var finished = Channel.CreateUnbounded<BatchAnswer>(new UnboundedChannelOptions { SingleReader = true });
        // RunOneAsync answers every call (a failure is that call's 500) and ends early only when the caller left.
        Task all = Task.WhenAll(calls.Select(async (call, i) => finished.Writer.TryWrite(await RunOneAsync(context, call, i, fromPeer, json.Value.SerializerOptions, logger))))
            .ContinueWith(_ => finished.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            // Each answer goes out as its call finishes; what finished together goes in one write.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = BatchAnswer.StreamContentType;
            await context.Response.StartAsync(context.RequestAborted);
            using var writer = new Utf8JsonWriter(context.Response.BodyWriter);
            while (await finished.Reader.WaitToReadAsync(context.RequestAborted))
            {
                while (finished.Reader.TryRead(out BatchAnswer? answer))
                {
                    answer.WriteLine(writer, context.Response.BodyWriter);
                }

                await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
            }
        }
        finally
        {
            // Whatever ended the stream, no call outlives the request whose services it uses.
            await all;
        }
    }

    private static async Task<List<BatchCall>?> ReadAsync(HttpContext context, JsonSerializerOptions options)
    {
        string? refusal;
        try
        {
            using JsonDocument document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted);
            List<BatchCall>? calls = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("calls", out JsonElement array) && array.ValueKind == JsonValueKind.Array
                ? array.Deserialize<List<BatchCall>>(options)
                : null;
            refusal = calls is null ? "The body must be {\"calls\": [{\"route\", \"body\", \"traceparent\"?}, ...]}."
                : calls.Count is 0 or > MaxCalls ? $"A batch holds 1 to {MaxCalls} calls (this one {calls.Count})."
                : calls.Any(c => c is null || c.Route is null) ? "Every call needs a route."
                : null;
            if (refusal is null)
            {
                return calls;
            }
        }
        catch (JsonException e)
        {
            refusal = $"The body is not a batch: {e.Message}";
        }

        await Problems.Invalid("calls", refusal).ExecuteAsync(context);
        return null;
    }

    private static async Task<BatchAnswer> RunOneAsync(HttpContext context, BatchCall call, int index, bool fromPeer, JsonSerializerOptions options, ILogger logger)
    {
        IServiceProvider services = context.RequestServices;
        // The caller's trace goes on here: each call's work is a span of its own request's trace.
        NodeTelemetry telemetry = services.GetRequiredService<NodeTelemetry>();
        using Activity? span = call.TraceParent is { } parent && telemetry.Source.HasListeners() && ActivityContext.TryParse(parent, null, isRemote: true, out ActivityContext caller)
            ? telemetry.Source.StartActivity($"batched {call.Route}", ActivityKind.Server, caller)
            : null;
        try
        {
            return await AnswerAsync(index, await ResultOfAsync(context, call, fromPeer, options), services);
        }
        catch (Exception e) when (!context.RequestAborted.IsCancellationRequested)
        {
            // As the exception handler answers a call that comes alone: a 500 for this call, logged; the others go on.
            logger.LogError(e, "A batched call to {Route} failed", call.Route);
            return await AnswerAsync(index, Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "Internal error", detail: $"{call.Route} failed on this node."), services);
        }
    }

    /// <summary>Answered as alone: a result written out by the framework, into a buffer of its own.</summary>
    private static async Task<BatchAnswer> AnswerAsync(int index, IResult result, IServiceProvider services)
    {
        var answer = new DefaultHttpContext { RequestServices = services };
        using var buffer = new MemoryStream();
        answer.Response.Body = buffer;
        await result.ExecuteAsync(answer);
        return new BatchAnswer(index, answer.Response.StatusCode, answer.Response.ContentType, buffer.ToArray());
    }

    private static async Task<IResult> ResultOfAsync(HttpContext context, BatchCall call, bool fromPeer, JsonSerializerOptions options)
    {
        IServiceProvider services = context.RequestServices;
        try
        {
            return call.Route switch
            {
                InternalRoutes.Write => await NodeApi.WriteAsync(Body<WriteRequest>(call, options), services.GetRequiredService<ClusterNode>(), services.GetRequiredService<Coordinator>(), services.GetRequiredService<StoreHealth>(), context.RequestAborted),
                InternalRoutes.Query => await NodeApi.QueryAsync(Body<QueryRequest>(call, options), services.GetRequiredService<ClusterNode>(), services.GetRequiredService<Coordinator>(), context.RequestAborted),
                InternalRoutes.Retract => await NodeApi.RetractAsync(Body<RetractRequest>(call, options), services.GetRequiredService<ClusterNode>(), services.GetRequiredService<Coordinator>(), context.RequestAborted),
                InternalRoutes.ReplicaRead when fromPeer => NodeApi.ReadAsReplica(Body<ReplicaReadRequest>(call, options), services.GetRequiredService<Coordinator>()),
                InternalRoutes.ReplicaRead => Results.Problem(statusCode: StatusCodes.Status412PreconditionFailed, title: "Another cluster", detail: $"Only nodes of this cluster may call {call.Route}; the batch carries no {InternalHeaders.Cluster} header."),
                _ => Problems.Invalid("route", $"{call.Route} does not travel in a batch (only {InternalRoutes.Write}, {InternalRoutes.Query}, {InternalRoutes.Retract} and {InternalRoutes.ReplicaRead})."),
            };
        }
        catch (JsonException e)
        {
            return Problems.Invalid("body", $"The call's body is not what {call.Route} takes: {e.Message}");
        }
    }

    private static T? Body<T>(BatchCall call, JsonSerializerOptions options) => call.Body.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? default : call.Body.Deserialize<T>(options);
}
