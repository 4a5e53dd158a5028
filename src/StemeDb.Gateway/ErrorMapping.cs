using System.Net;
using StemeDb.Contracts;

namespace StemeDb.Gateway;

/// <summary>
/// What a client sees when something goes wrong, as RFC 7807 problem details: its own mistakes are
/// 400/404/405/413/415 naming the field and the limit (checked before anything reaches a node); an owner's
/// 4xx, and its 503 "write quorum not reached" or "read quorum not reached" once every replica was asked,
/// pass through with their body; no live replica is 503; no replica answering in time 504; a broken answer
/// 502. Never a 500 for bad input.
/// </summary>
public static class ErrorMapping
{
    public static IResult Problem(int status, string title, string detail) => Results.Problem(statusCode: status, title: title, detail: detail);

    /// <summary>An owner's answer other than success, mapped for the client.</summary>
    public static IResult Relay(HttpContext context, Upstream answer)
    {
        if (answer.Problem is not null)
        {
            return Problem((int)answer.Status, answer.Status == HttpStatusCode.GatewayTimeout ? "Owner timeout" : "Unavailable", answer.Problem);
        }

        int status = (int)answer.Status;
        if (status is >= 400 and < 500 || status == 503)
        {
            // A node's own refusal (404, 400, 503 "write quorum not reached") passes through unchanged.
            context.Response.Headers[InternalHeaderNames.Node] = answer.Node?.Value;
            return Results.Content(System.Text.Encoding.UTF8.GetString(answer.Body), answer.ContentType ?? "application/problem+json", statusCode: status);
        }

        return Problem(502, "Broken upstream answer", $"{answer.Node} answered {status}.");
    }
}
