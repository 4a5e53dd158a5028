using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using StemeDb.Testing;

namespace StemeDb.Gateway.Tests;

/// <summary>A gateway on a loopback port in this process, pointed at some nodes.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    public const string AllowedOrigin = "https://app.example";
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
        Http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Url { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<GatewayHost> StartAsync(IEnumerable<Uri> seeds, Dictionary<string, string?>? extra = null, Func<Uri, Task<Dictionary<string, string?>>>? atUrl = null)
    {
        var url = new Uri($"http://127.0.0.1:{FreePorts.Tcp()}");
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = url.ToString(),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Gateway:RequestTimeout"] = "00:00:02",
            ["Gateway:RefreshInterval"] = "00:00:00.500",
            ["Gateway:CorsOrigins:0"] = AllowedOrigin,
        };
        int i = 0;
        foreach (Uri seed in seeds)
        {
            settings[$"Gateway:Seeds:{i++}"] = seed.ToString().TrimEnd('/');
        }

        foreach ((string key, string? value) in extra ?? [])
        {
            if (value is null)
            {
                settings.Remove(key); // a default of this host taken away
            }
            else
            {
                settings[key] = value;
            }
        }

        foreach ((string key, string? value) in atUrl is null ? [] : await atUrl(url))
        {
            settings[key] = value;
        }

        WebApplication app = GatewayApp.Build([], c => c.AddInMemoryCollection(settings));
        await app.StartAsync();
        return new GatewayHost(app, url);
    }

    public Task WaitReadyAsync() =>
        Poll.UntilAsync(async () => (await Http.GetAsync("/readyz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(20), "the gateway is ready");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
