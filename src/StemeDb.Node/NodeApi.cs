using StemeDb.Cluster.Wire;
using StemeDb.Storage.Wire;
using System.Net.Http.Json;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Hashing;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// The internal HTTP API for gateways and peers (never exposed through the gateway). A request for a
/// range this node does not serve gets 421 Misdirected Request with the descriptors this node has for
/// it, so the caller refreshes its routing cache and retries; never wrong data.
/// </summary>
public static class NodeApi
{
    public const int MaxBatch = 1000;

    public static IEndpointRouteBuilder MapNodeApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder api = app.MapGroup("/internal/v1");
        api.MapPost("/assertions", WriteAsync);
        api.MapPost("/replicate", Replicate);
        api.MapGet("/subjects/{subject}/assertions", ReadAsync);
        api.MapDelete("/subjects/{subject}/assertions/{id}", RetractAsync);
        api.MapGet("/meta-range", GetMetaRange);
        api.MapPost("/meta-range", PostMetaRange);
        api.MapGet("/members", (ClusterNode node) => Results.Ok(node.Swim.Members.Select(MemberDto.From)));
        return app;
    }

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { status = "ok" }));
        app.MapGet("/readyz", (ClusterNode node) => node.IsReady
            ? Results.Ok(new { status = "ready" })
            : Results.Problem(statusCode: 503, title: "Not ready", detail: "The node has not joined its cluster yet."));
        return app;
    }

    private static async Task<IResult> WriteAsync(WriteRequest? request, ClusterNode node, Replicator replicator, RocksDbAssertionStore store, CancellationToken cancellationToken)
    {
        if (request?.Assertions is not { Count: > 0 } inputs)
        {
            return Invalid([new ValidationError("assertions", "must hold 1 to 1000 assertions.")]);
        }

        if (inputs.Count > MaxBatch)
        {
            return Invalid([new ValidationError("assertions", $"holds {inputs.Count} assertions; at most {MaxBatch} are allowed.")]);
        }

        HlcTimestamp now = node.Clock.Now();
        var assertions = new List<Assertion>(inputs.Count);
        var errors = new List<ValidationError>();
        for (int i = 0; i < inputs.Count; i++)
        {
            AssertionInput input = inputs[i];
            if (Assertion.TryCreate(input.Subject, input.Predicate, input.Object, input.Source, input.Confidence, now, out List<ValidationError> found) is { } assertion)
            {
                assertions.Add(assertion);
            }
            else
            {
                errors.AddRange(found.Select(e => e with { Field = $"assertions[{i}].{e.Field}" }));
            }
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        // One replication per range; this node must lead each of them.
        var groups = assertions.Select(a => (Assertion: a, Route: node.Router.Route(a.Subject))).GroupBy(x => x.Route.Entry).ToList();
        foreach (var group in groups)
        {
            RangeRoute route = group.First().Route;
            if (!route.HasLiveReplica || route.Leader != node.Id)
            {
                return Misdirected(node, route.Shard);
            }
        }

        int stored = 0;
        foreach (var group in groups)
        {
            List<Assertion> batch = [.. group.Select(x => x.Assertion)];
            var replicate = new ReplicateRequest([.. batch.Select(a => AssertionDto.From(a))], null);
            Replicator.Outcome outcome = await replicator.ReplicateAsync(group.First().Route, replicate, () => stored += store.Write(batch), cancellationToken);
            if (!outcome.Reached)
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "Write quorum not reached",
                    detail: $"Stored on {outcome.Acknowledged} of {outcome.Replicas} replicas; {outcome.Quorum} are needed. Retrying is safe: writes are idempotent.");
            }
        }

        return Results.Ok(new WriteResponse([.. assertions.Select(a => a.Id.ToString())], stored));
    }

    private static IResult Replicate(ReplicateRequest? request, Replicator replicator)
    {
        if (request is null)
        {
            return Invalid([new ValidationError("body", "is required.")]);
        }

        try
        {
            IReadOnlyList<RangeDescriptor>? moved = replicator.StoreReplicated(request);
            return moved is null ? Results.Ok() : MisdirectedWith(moved);
        }
        catch (InvalidAssertionException e)
        {
            return Invalid(e.Errors);
        }
    }

    private static async Task<IResult> ReadAsync(string subject, string? predicate, bool? history, bool? quorum, ClusterNode node, RocksDbAssertionStore store, IHttpClientFactory http, NodeOptions options, CancellationToken cancellationToken)
    {
        try
        {
            SubjectRules.Validate(subject.AsSpan());
        }
        catch (InvalidSubjectException e)
        {
            return Invalid([new ValidationError("subject", e.Message)]);
        }

        RangeRoute route = node.Router.Route(subject);
        if (!route.Descriptor.Replicas.Contains(node.Id))
        {
            return Misdirected(node, route.Shard);
        }

        var merged = store.Read(subject, predicate, history: true).ToDictionary(s => s.Assertion.Id.ToString(), s => AssertionDto.From(s.Assertion, s.RetractedAt));
        if (quorum == true)
        {
            // Union with the other live replicas: a write acknowledged by a quorum is on at least one of
            // them. Asked all at once, so a read waits for the slowest replica, not for their sum.
            string query = $"/internal/v1/subjects/{Uri.EscapeDataString(subject)}/assertions?history=true" + (predicate is null ? "" : $"&predicate={Uri.EscapeDataString(predicate)}");
            HttpClient peers = http.CreateClient("peers");
            List<AssertionDto>?[] answers = await Task.WhenAll(route.LiveReplicas.ToArray()
                .Where(replica => replica != node.Id)
                .Select(replica => node.AddressOf(replica))
                .OfType<Uri>()
                .Select(async address =>
                {
                    // A hung replica (frozen, cut off) must not hold the read longer than a write would wait for it.
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timeout.CancelAfter(options.ReplicaTimeout);
                    try
                    {
                        return await peers.GetFromJsonAsync<List<AssertionDto>>(new Uri(address, query), timeout.Token);
                    }
                    catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                    {
                        return null; // a replica that does not answer adds nothing; the others still make the union
                    }
                }));
            foreach (AssertionDto a in answers.SelectMany(list => list ?? []))
            {
                merged[a.Id] = merged.TryGetValue(a.Id, out AssertionDto? mine) ? Union(mine, a) : a;
            }
        }

        return Results.Ok(merged.Values
            .Where(a => history == true || a.RetractedAt is null)
            .OrderBy(a => a.AssertedAt)
            .ThenBy(a => a.Id, StringComparer.Ordinal)
            .ToList());
    }

    private static async Task<IResult> RetractAsync(string subject, string id, ClusterNode node, Replicator replicator, RocksDbAssertionStore store, CancellationToken cancellationToken)
    {
        if (!AssertionId.TryParse(id, out AssertionId target))
        {
            return Invalid([new ValidationError("id", "must be 64 hex digits.")]);
        }

        try
        {
            SubjectRules.Validate(subject.AsSpan());
        }
        catch (InvalidSubjectException e)
        {
            return Invalid([new ValidationError("subject", e.Message)]);
        }

        RangeRoute route = node.Router.Route(subject);
        if (!route.HasLiveReplica || route.Leader != node.Id)
        {
            return Misdirected(node, route.Shard);
        }

        if (!store.Read(subject, history: true).Any(s => s.Assertion.Id == target))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such assertion", detail: $"Subject '{subject}' has no assertion {id}.");
        }

        var retraction = new Retraction(subject, target, node.Clock.Now());
        var request = new ReplicateRequest(null, [new RetractionDto(subject, id, retraction.RetractedAt.Packed)]);
        Replicator.Outcome outcome = await replicator.ReplicateAsync(route, request, () => store.Retract(retraction), cancellationToken);
        return outcome.Reached
            ? Results.Ok(new { retracted = id })
            : Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Write quorum not reached", detail: $"Stored on {outcome.Acknowledged} of {outcome.Replicas} replicas; {outcome.Quorum} are needed.");
    }

    private static IResult GetMetaRange(ClusterNode node) =>
        Results.Ok(new MetaRangeDto(node.Table.ShardCount, [.. node.Table.Current.Descriptors().Select(RangeDescriptorDto.From)]));

    private static IResult PostMetaRange(MetaRangeDto? update, ClusterNode node)
    {
        if (update is null || update.ShardCount != node.Table.ShardCount)
        {
            return Invalid([new ValidationError("shardCount", $"must be {node.Table.ShardCount}.")]);
        }

        try
        {
            node.Router.Apply(update.Descriptors.Select(d => d.ToDescriptor()));
            return Results.NoContent();
        }
        catch (Exception e) when (e is StemeDbClusterException or ArgumentException or FormatException or OverflowException)
        {
            return Invalid([new ValidationError("descriptors", e.Message)]);
        }
    }

    private static AssertionDto Union(AssertionDto a, AssertionDto b) => a with
    {
        AssertedAt = Math.Min(a.AssertedAt, b.AssertedAt),
        RetractedAt = a.RetractedAt is null ? b.RetractedAt : b.RetractedAt is null ? a.RetractedAt : Math.Min(a.RetractedAt.Value, b.RetractedAt.Value),
    };

    private static IResult Misdirected(ClusterNode node, int shard) =>
        MisdirectedWith(node.Table.Current.DescriptorsOverlapping(shard, shard + 1));

    private static IResult MisdirectedWith(IReadOnlyList<RangeDescriptor> current) =>
        Results.Problem(
            statusCode: StatusCodes.Status421MisdirectedRequest,
            title: "Range not served here",
            detail: "This node does not lead or hold the range of this subject; refresh the routing cache from the descriptors and retry.",
            extensions: new Dictionary<string, object?> { ["descriptors"] = current.Select(RangeDescriptorDto.From).ToList() });

    private static IResult Invalid(IEnumerable<ValidationError> errors) =>
        Results.Problem(
            statusCode: StatusCodes.Status400BadRequest,
            title: "Invalid request",
            detail: string.Join(" ", errors.Select(e => $"{e.Field} {e.Message}")),
            extensions: new Dictionary<string, object?> { ["errors"] = errors.ToList() });
}
