namespace StemeDb.Hosting;

/// <summary>
/// Adds a header to every outgoing request unless it is already there. The apps use it for
/// <c>dapr-api-token</c> when the token comes from configuration: Dapr's InvocationHandler reads only the
/// process environment, and a second copy of the header would make the sidecar refuse the call.
/// </summary>
public sealed class StaticHeaderHandler(string name, string value) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Headers.Contains(name))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
