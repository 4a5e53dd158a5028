using System.Collections.Concurrent;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Node.Tests;

/// <summary>
/// Holds one node's calls of one internal route (replicate by default) to the peers <see cref="Held"/> picks
/// (a slow network toward them), at most 20 s, and records each call: for replicate calls how many
/// assertions it carried, for others 1.
/// </summary>
internal sealed class HeldCalls(string route = InternalRoutes.Replicate)
{
    private readonly string _route = route;
    private int _waiting;
    private int _calledOff;

    public volatile Func<Uri, bool> Held = _ => false;

    /// <summary>Replicate calls that were held at some point.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Held calls that their caller called off while they were held.</summary>
    public int CalledOff => Volatile.Read(ref _calledOff);

    /// <summary>The assertion count of every replicate call sent (1 for another route's), in the order they were sent.</summary>
    public ConcurrentQueue<int> Sent { get; } = new();

    public void Install(IServiceCollection services) =>
        services.AddHttpClient(PeerClient.HttpClientName).AddHttpMessageHandler(() => new Relay(this));

    private sealed class Relay(HeldCalls hold) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri!.AbsolutePath == hold._route)
            {
                ReplicateRequest? body = request.Content is null || hold._route != InternalRoutes.Replicate ? null : await request.Content.ReadFromJsonAsync<ReplicateRequest>(cancellationToken);
                hold.Sent.Enqueue(hold._route == InternalRoutes.Replicate ? body?.Assertions?.Count ?? 0 : 1);
                if (hold.Held(request.RequestUri))
                {
                    Interlocked.Increment(ref hold._waiting);
                    try
                    {
                        for (int i = 0; i < 400 && hold.Held(request.RequestUri); i++)
                        {
                            await Task.Delay(50, cancellationToken);
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        Interlocked.Increment(ref hold._calledOff);
                        throw;
                    }
                }
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
