using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Hashing;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;
using StemeDb.Contracts.Wire;
using StemeDb.Contracts;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// The internal HTTP API for gateways and peers (never exposed through the gateway). Subjects travel in
/// bodies, never in a URL path: a Dapr sidecar decodes and normalizes the path of an invoked method. Any
/// replica of a subject's range coordinates (<see cref="Coordinator"/>); a node that is no replica answers
/// 421 with the descriptors it has; a node that cannot do it answers 503 with <c>retryElsewhere</c>.
/// </summary>
public static class NodeApi
{
    public static IEndpointRouteBuilder MapNodeApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(InternalRoutes.Write, WriteAsync);
        app.MapPost(InternalRoutes.Query, QueryAsync);
        app.MapPost(InternalRoutes.Retract, RetractAsync);
        app.MapPost(InternalRoutes.Replicate, ReplicateAsync);
        app.MapPost(InternalRoutes.ReplicaRead, ReadAsReplica);
        app.MapPost(InternalRoutes.LocalRead, (QueryRequest? request, RocksDbAssertionStore store) =>
            CheckSubject(request?.Subject) ?? Results.Ok(store.Read(request!.Subject!, request.Predicate, request.History).Select(s => AssertionDto.From(s.Assertion, s.RetractedAt)).ToList()));
        app.MapGet(InternalRoutes.MetaRange, (MetaRangeSync sync) => Results.Ok(sync.Snapshot()));
        app.MapPost(InternalRoutes.MetaRange, (MetaRangeDto? update, MetaRangeSync sync, HttpContext context) =>
            sync.Accept(update, context.Request.Headers[InternalHeaderNames.Node].ToString()) is { } refused
                ? Problems.Invalid("descriptors", refused)
                : Results.NoContent());
        app.MapGet(InternalRoutes.Members, (ClusterNode node) => Results.Ok(node.Swim.Members.Select(MemberDto.From)));
        return app;
    }

    internal static async Task<IResult> WriteAsync(WriteRequest? request, ClusterNode node, Coordinator coordinator, StoreHealth health, CancellationToken cancellationToken)
    {
        if (request?.Assertions is not { Count: > 0 } inputs)
        {
            return Problems.Invalid("assertions", $"must hold 1 to {RequestLimits.MaxBatch} assertions.");
        }

        if (inputs.Count > RequestLimits.MaxBatch)
        {
            return Problems.Invalid("assertions", $"holds {inputs.Count} assertions; at most {RequestLimits.MaxBatch} are allowed.");
        }

        HlcTimestamp now = node.Clock.Now();
        var assertions = new List<Assertion>(inputs.Count);
        var errors = new List<ValidationError>();
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] is not { } input)
            {
                errors.Add(new ValidationError($"assertions[{i}]", "must be an assertion object, not null."));
                continue;
            }

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
            return Problems.Invalid(errors);
        }

        if (!health.IsHealthy)
        {
            return NotHere(node, health);
        }

        // One quorum write per range, all at once; this node must be a replica of each.
        var groups = assertions.GroupBy(a => node.Router.Route(a.Subject).Entry.Descriptor).ToList();
        if (groups.FirstOrDefault(g => !g.Key.Replicas.Contains(node.Id)) is { } foreign)
        {
            return Problems.Misdirected(node, node.Router.Route(foreign.First().Subject).Shard);
        }

        QuorumOutcome[] outcomes = await Task.WhenAll(groups.Select(g => coordinator.ReplicateAsync(g.Key, [.. g], [], cancellationToken)));
        if (outcomes.FirstOrDefault(o => o.Status != QuorumStatus.Ok) is { } failed)
        {
            // Some ranges may have stored theirs: a retry of the whole batch is safe (writes are idempotent).
            return Refusal(node, failed, "Write quorum not reached", "Stored on", "Retrying is safe: writes are idempotent.");
        }

        return Results.Ok(new WriteResponse([.. assertions.Select(a => a.Id.ToString())], outcomes.Sum(o => o.Added)));
    }

    internal static async Task<IResult> QueryAsync(QueryRequest? request, ClusterNode node, Coordinator coordinator, CancellationToken cancellationToken)
    {
        if (CheckSubject(request?.Subject) is { } bad)
        {
            return bad;
        }

        RangeDescriptor range = node.Router.Route(request!.Subject!).Entry.Descriptor;
        (QuorumOutcome outcome, List<AssertionDto> records) = await coordinator.ReadAsync(range, request.Subject!, request.Predicate, cancellationToken);
        if (outcome.Status != QuorumStatus.Ok)
        {
            return Refusal(node, outcome, "Read quorum not reached", "Answered by", "No answer is given from fewer than a majority of the range's replicas.");
        }

        return Results.Ok(records
            .Where(a => request.History || a.RetractedAt is null)
            .OrderBy(a => a.AssertedAt)
            .ThenBy(a => a.Id, StringComparer.Ordinal)
            .ToList());
    }

    internal static async Task<IResult> RetractAsync(RetractRequest? request, ClusterNode node, Coordinator coordinator, CancellationToken cancellationToken)
    {
        if (CheckSubject(request?.Subject) is { } bad)
        {
            return bad;
        }

        if (!AssertionId.TryParse(request!.Id, out AssertionId target))
        {
            return Problems.Invalid("id", "must be 64 hex digits.");
        }

        // The assertion must exist for a majority read, not only in this node's copy (it may have missed it).
        RangeDescriptor range = node.Router.Route(request.Subject!).Entry.Descriptor;
        (QuorumOutcome read, List<AssertionDto> records) = await coordinator.ReadAsync(range, request.Subject!, null, cancellationToken);
        if (read.Status != QuorumStatus.Ok)
        {
            return Refusal(node, read, "Read quorum not reached", "Answered by", "The retraction was not stored: whether the assertion exists could not be read from a majority.");
        }

        if (!records.Any(a => a.Id == request.Id!.ToLowerInvariant()))
        {
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such assertion", detail: $"Subject '{request.Subject}' has no assertion {request.Id}.");
        }

        var retraction = new Retraction(request.Subject!, target, node.Clock.Now());
        QuorumOutcome written = await coordinator.ReplicateAsync(range, [], [retraction], cancellationToken);
        return written.Status == QuorumStatus.Ok
            ? Results.Ok(new { retracted = target.ToString() })
            : Refusal(node, written, "Write quorum not reached", "Stored on", "Retrying is safe: a retraction is idempotent.");
    }

    private static async Task<IResult> ReplicateAsync(ReplicateRequest? request, Coordinator coordinator)
    {
        if (request?.Descriptors is not { Count: > 0 } descriptors)
        {
            return Problems.Invalid("descriptors", "are required: the descriptors the records were routed by.");
        }

        // JSON can hold a null where a record goes (found by the node API fuzzer: a 500).
        if (descriptors.Contains(null!) || request.Assertions?.Contains(null!) == true || request.Retractions?.Contains(null!) == true)
        {
            return Problems.Invalid("records", "must be objects, not null.");
        }

        List<Assertion> assertions;
        List<Retraction> retractions;
        List<RangeDescriptor> ranges;
        try
        {
            ranges = [.. descriptors.Select(d => d.ToDescriptor())];
            assertions = [.. (request.Assertions ?? []).Select(a => a.ToAssertion())];
            retractions = [.. (request.Retractions ?? []).Select(r => r.ToRetraction())];
        }
        catch (InvalidAssertionException e)
        {
            return Problems.Invalid(e.Errors);
        }
        catch (Exception e) when (e is StemeDbClusterException or ArgumentException or FormatException or OverflowException)
        {
            return Problems.Invalid("descriptors", e.Message);
        }

        (bool stored, IReadOnlyList<RangeDescriptor> current, bool storeFailed) = await coordinator.StoreAsReplicaAsync(ranges, assertions, retractions);
        return stored ? Results.Ok()
            : storeFailed ? Problems.Unavailable("Store failed", "This replica's store refuses writes.", retryElsewhere: true)
            : Problems.Misdirected(current, "This node does not hold the range at the generation the write was routed at, or promised a change of it.");
    }

    internal static IResult ReadAsReplica(ReplicaReadRequest? request, Coordinator coordinator)
    {
        if (request?.Descriptor is null || CheckSubject(request.Subject) is not null)
        {
            return Problems.Invalid("subject", "a descriptor and a valid subject are required.");
        }

        RangeDescriptor range;
        try
        {
            range = request.Descriptor.ToDescriptor();
        }
        catch (Exception e) when (e is StemeDbClusterException or ArgumentException or FormatException or OverflowException)
        {
            return Problems.Invalid("descriptor", e.Message);
        }

        (ReplicaReadAnswer? records, IReadOnlyList<RangeDescriptor> current) = coordinator.ReadAsReplica(range, request.Subject, request.Predicate);
        return records is not null ? Results.Ok(records) : Problems.Misdirected(current, "This node does not hold the range at that generation, or promised a change of it.");
    }

    /// <summary>A quorum operation that did not succeed, for the caller.</summary>
    private static IResult Refusal(ClusterNode node, QuorumOutcome outcome, string title, string verb, string hint) => outcome.Status switch
    {
        QuorumStatus.Moved => Problems.Misdirected(outcome.Current),
        QuorumStatus.Fenced => Problems.Misdirected(outcome.Current, $"{node.Id}: {outcome.Detail}"),
        QuorumStatus.StoreFailed => Problems.Unavailable("Store failed", $"{node.Id}'s store refuses writes ({outcome.Detail}); another replica can serve this.", retryElsewhere: true),
        _ => Problems.Unavailable(title, $"{verb} {outcome.Answered} of {outcome.Replicas} replicas; {outcome.Quorum} are needed ({node.Id} coordinated: {outcome.Detail}). {hint}", retryElsewhere: true),
    };

    private static IResult NotHere(ClusterNode node, StoreHealth health) =>
        Problems.Unavailable("Store failed", $"{node.Id}'s store refuses writes ({health.Failure}); another replica can serve this.", retryElsewhere: true);

    private static IResult? CheckSubject(string? subject)
    {
        try
        {
            SubjectRules.Validate((subject ?? "").AsSpan());
            return null;
        }
        catch (InvalidSubjectException e)
        {
            return Problems.Invalid("subject", e.Message);
        }
    }
}
