using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace StemeDb.Hosting;

/// <summary>
/// OpenTelemetry for every app: ASP.NET Core and HttpClient instrumentation plus the cluster's own meters
/// and activity sources (<c>StemeDb.*</c>), a Prometheus scrape endpoint at <see cref="MetricsPath"/>, and an
/// OTLP exporter when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard variable; nothing is sent
/// otherwise; traces are recorded only then, or with <see cref="TracingSetting"/>). W3C trace context travels on every internal call (HttpClient's propagation), so a write is
/// one trace from the gateway through the leader to each replica, and through a Dapr sidecar as well.
/// </summary>
public static class Telemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>Traces without OTLP (an exporter added in code, as the tests do): <c>Telemetry:Tracing=true</c>.</summary>
    public const string TracingSetting = "Telemetry:Tracing";

    /// <summary>The prefix of every meter and activity source of this project.</summary>
    public const string SourcePrefix = "StemeDb";

    /// <summary>What the apps export: ASP.NET Core's and HttpClient's built-in meters (what the OpenTelemetry instrumentation packages enable on .NET 8 and later) and this project's.</summary>
    private static readonly string[] Meters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Routing",
        "Microsoft.AspNetCore.Diagnostics", "Microsoft.AspNetCore.RateLimiting", "Microsoft.AspNetCore.Http.Connections",
        "System.Net.Http", "System.Net.NameResolution", SourcePrefix + ".*",
    ];

    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder, string serviceName, string instance, Action<TracerProviderBuilder>? tracing = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        bool otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        // Meters are enabled by the host's metrics rules, not by the SDK's AddMeter (which the instrumentation
        // helpers call): a rule takes only meters made by this app's own IMeterFactory (ASP.NET Core's, the
        // HttpClientFactory's, the node's) or by none, never another app's. So when one process holds several
        // apps (the embedded cluster, the benchmarks, the tests) each app's scrape counts its own requests, once,
        // instead of every app's requests once per app (which also cost each request its metrics four times).
        builder.Services.AddMetrics(m =>
        {
            foreach (string meter in Meters)
            {
                m.EnableMetrics(meter);
            }
        });
        OpenTelemetryBuilder otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: instance))
            .WithMetrics(m => m.AddPrometheusExporter());
        // Spans only where they go somewhere: recorded spans that no exporter takes cost every request CPU.
        if (otlp || builder.Configuration.GetValue<bool>(TracingSetting))
        {
            otel.WithTracing(t =>
            {
                t.AddAspNetCoreInstrumentation(o => o.Filter = context => !IsOpen(context.Request))
                    .AddHttpClientInstrumentation()
                    .AddSource(SourcePrefix + ".*");
                tracing?.Invoke(t);
            });
        }

        if (otlp)
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>The Prometheus scrape endpoint; open like the health probes (counts and durations, no data or secrets).</summary>
    public static WebApplication MapMetrics(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }

    /// <summary>Requests the tokens do not cover: health probes and the scrape endpoint.</summary>
    public static bool IsOpen(Microsoft.AspNetCore.Http.HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return HeaderToken.IsHealthProbe(request) || request.Path.StartsWithSegments(MetricsPath);
    }
}
