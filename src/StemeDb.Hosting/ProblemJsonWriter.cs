using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace StemeDb.Hosting;

/// <summary>
/// Every error is an RFC 7807 problem, whatever the request's <c>Accept</c> says. ASP.NET's own writer
/// declines when <c>Accept</c> names no JSON type, and the status-code pages then answer <c>text/plain</c>
/// (the HTTP fuzzer found it with <c>Accept: a/b</c>); a client that cannot read JSON still gets a status
/// it can act on, and one that can gets the detail. Registered after the default, so it only answers
/// what that one declines.
/// </summary>
public sealed class ProblemJsonWriter(IOptions<ProblemDetailsOptions> problemOptions, IOptions<JsonOptions> jsonOptions) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        HttpContext http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        if (!problem.Extensions.ContainsKey("traceId"))
        {
            problem.Extensions["traceId"] = Activity.Current?.Id ?? http.TraceIdentifier;
        }

        problemOptions.Value.CustomizeProblemDetails?.Invoke(context);
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, jsonOptions.Value.SerializerOptions, "application/problem+json", http.RequestAborted));
    }
}
