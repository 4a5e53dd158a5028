using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;

namespace StemeDb.Dapr.Testing.Tests;

/// <summary>
/// An app "orders" behind its sidecar, and a sidecar for a caller "checkout" that invokes it: what the
/// invocation tests share. Stopped together.
/// </summary>
internal sealed class InvocationRig : IAsyncDisposable
{
    private InvocationRig(StandInBroker broker, ConcurrentDictionary<string, StandInSidecar> registry, WebApplication app, StandInSidecar callee, StandInSidecar caller)
    {
        Broker = broker;
        Registry = registry;
        App = app;
        Callee = callee;
        Caller = caller;
    }

    /// <summary>The broker and app-id registry the sidecars share, for more sidecars of the same test.</summary>
    public StandInBroker Broker { get; }

    public ConcurrentDictionary<string, StandInSidecar> Registry { get; }

    public WebApplication App { get; }

    public StandInSidecar Callee { get; }

    public StandInSidecar Caller { get; }

    public static async Task<InvocationRig> StartAsync(Action<WebApplication> map, string? calleeAppToken = null, string? callerDaprToken = null)
    {
        var registry = new ConcurrentDictionary<string, StandInSidecar>();
        var broker = new StandInBroker(1);
        WebApplication app = await TestApps.StartAsync(map);
        var callee = new StandInSidecar("orders", app.Url(), broker, registry) { AppApiToken = calleeAppToken };
        await callee.StartAsync();
        StandInSidecar caller = await TestApps.CallerAsync(broker, registry, daprApiToken: callerDaprToken);
        return new InvocationRig(broker, registry, app, callee, caller);
    }

    public async ValueTask DisposeAsync()
    {
        await Caller.DisposeAsync();
        await Callee.DisposeAsync();
        await App.DisposeAsync();
    }
}
