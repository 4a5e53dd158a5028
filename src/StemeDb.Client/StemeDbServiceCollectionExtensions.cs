using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace StemeDb.Client;

/// <summary>Registers <see cref="StemeDbClient"/> for dependency injection.</summary>
public static class StemeDbServiceCollectionExtensions
{
    /// <summary>The header that carries <see cref="StemeDbClientOptions.ApiKey"/>.</summary>
    public const string ApiKeyHeader = "X-Api-Key";

    /// <summary>
    /// Registers <see cref="StemeDbClient"/> as a typed HttpClient on the gateway's address, with the standard
    /// resilience handler (rate limiter, total timeout, retries with exponential backoff and jitter, circuit
    /// breaker, attempt timeout): every call of the client is idempotent, so every one may be retried. The
    /// event stream gets its own client (<see cref="StemeDbClient.EventsClientName"/>) without that handler
    /// and without a timeout: it is long-lived and resumes by itself.
    /// </summary>
    public static IHttpClientBuilder AddStemeDbClient(this IServiceCollection services, Action<StemeDbClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<StemeDbClientOptions> options = services.AddOptions<StemeDbClientOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.Validate(o => o.Gateway is { IsAbsoluteUri: true }, "StemeDbClientOptions.Gateway must be an absolute http(s) address.")
            .Validate(o => o.AttemptTimeout > TimeSpan.Zero && o.TotalTimeout >= o.AttemptTimeout, "StemeDbClientOptions: AttemptTimeout must be positive and at most TotalTimeout.")
            .Validate(o => o.MaxRetries >= 0 && o.RetryDelay >= TimeSpan.Zero, "StemeDbClientOptions: MaxRetries and RetryDelay must not be negative.")
            .Validate(o => o.WatchInitialBackoff > TimeSpan.Zero && o.WatchMaxBackoff >= o.WatchInitialBackoff, "StemeDbClientOptions: WatchInitialBackoff must be positive and at most WatchMaxBackoff.");
        services.TryAddSingleton(TimeProvider.System);

        services.AddHttpClient(StemeDbClient.EventsClientName, (provider, http) =>
        {
            Configure(http, provider.GetRequiredService<IOptions<StemeDbClientOptions>>().Value);
            http.Timeout = Timeout.InfiniteTimeSpan; // a stream lasts as long as its watcher wants
        });

        IHttpClientBuilder builder = services.AddHttpClient<StemeDbClient>((provider, http) =>
        {
            Configure(http, provider.GetRequiredService<IOptions<StemeDbClientOptions>>().Value);
            http.Timeout = Timeout.InfiniteTimeSpan; // the resilience pipeline's total timeout governs
        });
        builder.AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions resilience, IServiceProvider provider) =>
            {
                StemeDbClientOptions o = provider.GetRequiredService<IOptions<StemeDbClientOptions>>().Value;
                resilience.AttemptTimeout.Timeout = o.AttemptTimeout;
                resilience.TotalRequestTimeout.Timeout = o.TotalTimeout;
                // The breaker samples over at least two attempts' time (the handler's own validation asks for it).
                resilience.CircuitBreaker.SamplingDuration = Max(resilience.CircuitBreaker.SamplingDuration, o.AttemptTimeout * 2);
                resilience.Retry.MaxRetryAttempts = Math.Max(o.MaxRetries, 1);
                resilience.Retry.Delay = o.RetryDelay;
                if (o.MaxRetries == 0)
                {
                    resilience.Retry.ShouldHandle = _ => ValueTask.FromResult(false);
                }
            });
        return builder;
    }

    private static void Configure(HttpClient http, StemeDbClientOptions options)
    {
        // A base address without a trailing slash would drop its last segment from every relative path.
        string gateway = options.Gateway.ToString();
        http.BaseAddress = new Uri(gateway.EndsWith('/') ? gateway : gateway + "/");
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            http.DefaultRequestHeaders.Add(ApiKeyHeader, options.ApiKey);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
