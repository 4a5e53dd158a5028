using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text.Json;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Hashing;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Gateway;

/// <summary>
/// The public assertion API under <c>/v1</c>. Input is checked here first, so a client mistake is a 400,
/// 413 or 415 naming the field and the limit; what reaches a node is well-formed. An owner's 4xx passes
/// through with its body; no live replica is 503; an owner timeout 504; a broken owner answer 502.
/// </summary>
public static class AssertionsApi
{
    private static readonly HashSet<string> Fields = ["subject", "predicate", "object", "source", "confidence"];

    public static IEndpointRouteBuilder MapAssertionsApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder v1 = app.MapGroup("/v1").WithTags("assertions");
        v1.MapPost("/assertions", WriteAsync)
            .WithSummary("Write one assertion, or a batch as {\"assertions\": [...]}; answers with their ids once a write quorum stored them.")
            .WithDescription("Body (application/json): {\"subject\", \"predicate\", \"object\": any JSON, \"source\"?, \"confidence\"?} or {\"assertions\": [those]}. The content type is checked by the handler, so a wrong one gets a 415 that says what to send.")
            .Produces<WriteResponse>()
            .ProducesProblem(400).ProducesProblem(413).ProducesProblem(415).ProducesProblem(503).ProducesProblem(504);
        // Two forms of each: the subject as a path segment is the short one for simple subjects; the
        // query-parameter form reads and retracts every valid subject. A path cannot carry some of them
        // whatever their encoding: clients and servers resolve "." and ".." segments, routing keeps %2F
        // encoded, and a Dapr sidecar on the way decodes and normalizes paths.
        v1.MapGet("/subjects/{subject}/assertions", (HttpContext context, string subject, string? predicate, bool? history, OwnerClient owners) => ReadAsync(context, subject, predicate, history, owners))
            .WithSummary("The current assertions of a subject (history=true: retracted ones too), optionally of one predicate.")
            .WithDescription("The subject is one path segment, percent-encoded. Subjects that a path cannot carry exactly (with '/', '.' or '..' segments, or to pass through proxies that normalize paths) use GET /v1/assertions?subject=.")
            .Produces<List<PublicAssertion>>()
            .ProducesProblem(400).ProducesProblem(503).ProducesProblem(504);
        v1.MapGet("/assertions", (HttpContext context, string? subject, string? predicate, bool? history, OwnerClient owners) => ReadAsync(context, subject, predicate, history, owners))
            .WithSummary("The current assertions of the subject given as the query parameter subject (history=true: retracted ones too), optionally of one predicate.")
            .WithDescription("Reads every valid subject exactly: percent-encode it as a query value (for example with encodeURIComponent or Uri.EscapeDataString; '+' must be sent as %2B).")
            .Produces<List<PublicAssertion>>()
            .ProducesProblem(400).ProducesProblem(503).ProducesProblem(504);
        v1.MapDelete("/subjects/{subject}/assertions/{id}", (HttpContext context, string subject, string id, OwnerClient owners) => RetractAsync(context, subject, id, owners))
            .WithSummary("Retract an assertion of a subject.")
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(503).ProducesProblem(504);
        v1.MapDelete("/assertions/{id}", (HttpContext context, string? subject, string id, OwnerClient owners) => RetractAsync(context, subject, id, owners))
            .WithSummary("Retract an assertion of the subject given as the query parameter subject (every valid subject, as for reads).")
            .ProducesProblem(400).ProducesProblem(404).ProducesProblem(503).ProducesProblem(504);
        return app;
    }

    private static async Task<IResult> WriteAsync(HttpContext context, OwnerClient owners, RoutingTable table, GatewayOptions options)
    {
        if (!IsJson(context.Request.ContentType))
        {
            return Problem(415, "Unsupported media type", $"Send the assertions as application/json (was '{context.Request.ContentType ?? "none"}').");
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == 413)
        {
            return Problem(413, "Body too large", $"The body is larger than {options.MaxBodyBytes} bytes.");
        }
        catch (JsonException e)
        {
            return Problem(400, "Malformed JSON", $"The body is not valid JSON: {e.Message}");
        }

        using (document)
        {
            List<AssertionInput>? inputs;
            IResult? refusal;
            try
            {
                (inputs, refusal) = ParseBatch(document.RootElement, options.MaxBatch);
            }
            catch (InvalidOperationException)
            {
                // System.Text.Json checks the UTF-8 of strings when they are read, not when parsed.
                return Problem(400, "Invalid UTF-8", "The body holds a string that is not valid UTF-8.");
            }

            if (refusal is not null)
            {
                return refusal;
            }

            // One request per range leader; ids come back in the order sent. A range that moved meanwhile, or
            // is being changed (421), sends its inputs back to be grouped again by the refreshed table, until
            // the request's budget (3 × Gateway:RequestTimeout) runs out.
            var ids = new string?[inputs!.Count];
            int stored = 0;
            List<int> pending = [.. Enumerable.Range(0, inputs.Count)];
            long deadline = Environment.TickCount64 + (long)(options.RequestTimeout * 3).TotalMilliseconds;
            for (int round = 0; pending.Count > 0; round++)
            {
                if (round > 0 && Environment.TickCount64 > deadline)
                {
                    return Problem(503, "Unavailable", $"The ranges of this batch kept moving for {options.RequestTimeout * 3}; retry the batch (writes are idempotent).");
                }

                var retry = new List<int>();
                foreach (List<int> group in GroupByLeader(table, inputs, pending))
                {
                    var request = new WriteRequest([.. group.Select(i => inputs[i])]);
                    Upstream answer = await owners.SendAsync(
                        inputs[group[0]].Subject!,
                        address => new HttpRequestMessage(HttpMethod.Post, new Uri(address, InternalRoutes.Write)) { Content = JsonContent.Create(request) },
                        context.RequestAborted,
                        retryMoved: false);
                    if (answer.Status == HttpStatusCode.MisdirectedRequest)
                    {
                        retry.AddRange(group);
                        continue;
                    }

                    if (answer.Status != HttpStatusCode.OK)
                    {
                        return ErrorMapping.Relay(context, answer);
                    }

                    WriteResponse? written = TryParse<WriteResponse>(answer.Body);
                    if (written is null || written.Ids.Count != group.Count)
                    {
                        return Problem(502, "Broken upstream answer", $"{answer.Node} answered a write with something that is not a list of ids.");
                    }

                    for (int i = 0; i < group.Count; i++)
                    {
                        ids[group[i]] = written.Ids[i];
                    }

                    stored += written.Stored;
                    context.Response.Headers[InternalHeaderNames.Node] = answer.Node?.Value;
                }

                pending = retry;
                if (pending.Count > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(50 * (round + 1), 500)), context.RequestAborted);
                }
            }

            return Results.Ok(new WriteResponse([.. ids.Select(id => id!)], stored));
        }
    }

    private static async Task<IResult> ReadAsync(HttpContext context, string? subject, string? predicate, bool? history, OwnerClient owners)
    {
        if (!IsValidSubject(subject, out IResult? bad))
        {
            return bad;
        }

        if (predicate is not null && (predicate.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(predicate) > AssertionLimits.MaxPredicateBytes))
        {
            return Problem(400, "Invalid predicate", $"predicate must be 1 to {AssertionLimits.MaxPredicateBytes} bytes of UTF-8.");
        }

        // The subject travels in the body: a sidecar decodes and normalizes an invoked method's path.
        var query = new QueryRequest(subject, predicate, history == true);
        Upstream answer = await owners.SendAsync(subject, address => new HttpRequestMessage(HttpMethod.Post, new Uri(address, InternalRoutes.Query)) { Content = JsonContent.Create(query) }, context.RequestAborted);
        if (answer.Status != HttpStatusCode.OK)
        {
            return ErrorMapping.Relay(context, answer);
        }

        var body = new System.Buffers.ArrayBufferWriter<byte>(answer.Body.Length + 64);
        if (!PublicForm.TryRewrite(answer.Body, body))
        {
            return Problem(502, "Broken upstream answer", $"{answer.Node} answered a read with something that is not a list of assertions.");
        }

        context.Response.Headers[InternalHeaderNames.Node] = answer.Node?.Value;
        return Results.Bytes(body.WrittenMemory, "application/json; charset=utf-8");
    }

    private static async Task<IResult> RetractAsync(HttpContext context, string? subject, string id, OwnerClient owners)
    {
        if (!IsValidSubject(subject, out IResult? bad))
        {
            return bad;
        }

        if (!AssertionId.TryParse(id, out _))
        {
            return Problem(400, "Invalid id", "id must be 64 hex digits (an assertion id as the write returned it).");
        }

        var retract = new RetractRequest(subject, id);
        Upstream answer = await owners.SendAsync(subject, address => new HttpRequestMessage(HttpMethod.Post, new Uri(address, InternalRoutes.Retract)) { Content = JsonContent.Create(retract) }, context.RequestAborted);
        return answer.Status == HttpStatusCode.OK ? Results.Ok(new { retracted = id }) : ErrorMapping.Relay(context, answer);
    }

    /// <summary>Reads one assertion object or <c>{"assertions": [...]}</c>, checking types, unknown fields and limits.</summary>
    internal static (List<AssertionInput>? Inputs, IResult? Refusal) ParseBatch(JsonElement root, int maxBatch)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, Problem(400, "Invalid request", "The body must be an assertion object, or an object with an \"assertions\" array."));
        }

        List<JsonElement> items;
        string prefix;
        if (root.TryGetProperty("assertions", out JsonElement batch))
        {
            if (batch.ValueKind != JsonValueKind.Array)
            {
                return (null, Problem(400, "Invalid request", "assertions must be an array."));
            }

            items = [.. batch.EnumerateArray()];
            prefix = "assertions";
            if (root.EnumerateObject().Count() > 1)
            {
                return (null, Problem(400, "Invalid request", "A batch holds only \"assertions\"."));
            }
        }
        else
        {
            items = [root];
            prefix = "";
        }

        if (items.Count == 0)
        {
            return (null, Problem(400, "Invalid request", "assertions must hold at least one assertion."));
        }

        if (items.Count > maxBatch)
        {
            return (null, Problem(413, "Batch too large", $"assertions holds {items.Count} assertions; at most {maxBatch} are allowed."));
        }

        var inputs = new List<AssertionInput>(items.Count);
        var errors = new List<ValidationError>();
        for (int i = 0; i < items.Count; i++)
        {
            string at = prefix.Length == 0 ? "" : $"{prefix}[{i}].";
            JsonElement item = items[i];
            if (item.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new ValidationError($"{prefix}[{i}]", "must be an object."));
                continue;
            }

            foreach (JsonProperty p in item.EnumerateObject().Where(p => !Fields.Contains(p.Name)))
            {
                errors.Add(new ValidationError($"{at}{p.Name}", "is not a field of an assertion (subject, predicate, object, source, confidence)."));
            }

            string? subject = Text(item, "subject", at, errors);
            string? predicate = Text(item, "predicate", at, errors);
            string? source = Text(item, "source", at, errors);
            double? confidence = null;
            if (item.TryGetProperty("confidence", out JsonElement c) && c.ValueKind != JsonValueKind.Null)
            {
                if (c.ValueKind != JsonValueKind.Number || !c.TryGetDouble(out double value))
                {
                    errors.Add(new ValidationError($"{at}confidence", "must be a number from 0 to 1."));
                }
                else
                {
                    confidence = value;
                }
            }

            JsonElement? obj = item.TryGetProperty("object", out JsonElement o) ? o.Clone() : null;
            if (errors.Count == 0)
            {
                errors.AddRange(AssertionValidator.Validate(subject, predicate, obj, source, confidence).Select(e => e with { Field = at + e.Field }));
            }

            inputs.Add(new AssertionInput(subject, predicate, obj, source, confidence));
        }

        return errors.Count > 0
            ? (null, Results.Problem(
                statusCode: 400,
                title: "Invalid assertion",
                detail: string.Join(" ", errors.Select(e => $"{e.Field} {e.Message}")),
                extensions: new Dictionary<string, object?> { ["errors"] = errors }))
            : (inputs, null);
    }

    /// <summary>Pending inputs grouped by the leader of their subject's range, by the current table.</summary>
    private static IEnumerable<List<int>> GroupByLeader(RoutingTable table, List<AssertionInput> inputs, List<int> pending) =>
        pending.GroupBy(i => table.Router is { } router && router.Route(inputs[i].Subject!) is { HasLiveReplica: true } route ? route.Leader.Value : "")
            .Select(g => g.ToList());

    private static string? Text(JsonElement item, string name, string at, List<ValidationError> errors)
    {
        if (!item.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            errors.Add(new ValidationError(at + name, $"must be a string (was {value.ValueKind.ToString().ToLowerInvariant()})."));
            return null;
        }

        return value.GetString();
    }

    private static bool IsValidSubject([NotNullWhen(true)] string? subject, [NotNullWhen(false)] out IResult? refusal)
    {
        if (subject is null)
        {
            refusal = Problem(400, "Missing subject", "Give the subject as the query parameter subject (percent-encoded).");
            return false;
        }

        try
        {
            SubjectRules.Validate(subject.AsSpan());
            refusal = null;
            return true;
        }
        catch (InvalidSubjectException e)
        {
            refusal = Problem(400, "Invalid subject", e.Message);
            return false;
        }
    }

    private static bool IsJson(string? contentType) =>
        contentType is not null && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.MediaType.Value?.EndsWith("+json", StringComparison.OrdinalIgnoreCase) == true);

    private static T? TryParse<T>(byte[] body)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(body, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static IResult Problem(int status, string title, string detail) => ErrorMapping.Problem(status, title, detail);
}

/// <summary>An assertion as clients read it: times as ISO 8601 (from the hybrid logical clock).</summary>
public sealed record PublicAssertion(string Id, string Subject, string Predicate, JsonElement Object, string? Source, double? Confidence, DateTimeOffset AssertedAt, DateTimeOffset? RetractedAt)
{
    public static PublicAssertion From(AssertionDto a) => new(
        a.Id, a.Subject, a.Predicate, a.Object, a.Source, a.Confidence,
        Cluster.Time.HlcTimestamp.FromPacked(a.AssertedAt).ToDateTimeOffset(),
        a.RetractedAt is { } r ? Cluster.Time.HlcTimestamp.FromPacked(r).ToDateTimeOffset() : null);
}

