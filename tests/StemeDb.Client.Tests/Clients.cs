using Microsoft.Extensions.DependencyInjection;

namespace StemeDb.Client.Tests;

/// <summary>A <see cref="StemeDbClient"/> made the way an application makes it: <c>AddStemeDbClient</c> in a service collection.</summary>
public sealed class Clients : IDisposable
{
    private readonly ServiceProvider _provider;

    public Clients(Uri gateway, Action<StemeDbClientOptions>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddStemeDbClient(o =>
        {
            o.Gateway = gateway;
            configure?.Invoke(o);
        });
        _provider = services.BuildServiceProvider();
    }

    public StemeDbClient Client => _provider.GetRequiredService<StemeDbClient>();

    public void Dispose() => _provider.Dispose();
}
