using Microsoft.AspNetCore.Builder;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>A subscribing app and its sidecar, stopped together.</summary>
internal sealed class SubscriberRig(WebApplication app, StandInSidecar sidecar) : IAsyncDisposable
{
    public StandInSidecar Sidecar => sidecar;

    public async ValueTask DisposeAsync()
    {
        await sidecar.DisposeAsync();
        await app.DisposeAsync();
    }
}
