using StemeDb.Contracts;
using StemeDb.Hosting;

namespace StemeDb.Gateway;

/// <summary>The gateway's settings (section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary><c>Direct</c> (node HTTP addresses) or <c>Dapr</c> (invocation by app-id, topics).</summary>
    public Transport Transport { get; set; } = Transport.Direct;

    /// <summary>Nodes to take the first snapshot from: URLs (direct) or app-ids (Dapr).</summary>
    public List<string> Seeds { get; set; } = [];

    public string PubSubName { get; set; } = Topics.DefaultPubSub;

    /// <summary>Per request to a node. Writes are idempotent (content ids), so retrying one elsewhere is safe.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the routing table and member list are refreshed from a node (besides topics).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Assertions in one write request; at most what a node takes (<see cref="RequestLimits.MaxBatch"/>).</summary>
    public int MaxBatch { get; set; } = RequestLimits.MaxBatch;

    /// <summary>Bytes of one request body; at most what a node reads (<see cref="RequestLimits.MaxNodeBodyBytes"/>).</summary>
    public long MaxBodyBytes { get; set; } = RequestLimits.DefaultGatewayBodyBytes;

    /// <summary>Origins allowed by CORS; none unless listed. "*" is allowed only without credentials.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    public bool CorsAllowCredentials { get; set; }

    /// <summary>When any are set, every /v1 request needs one in the <c>X-Api-Key</c> header.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>The <c>observedBy</c> of the events that replay this gateway's own view on <c>/v1/cluster/events</c>.</summary>
    public string EventsObserverId { get; set; } = "gateway";

    /// <summary>Recent membership events kept for clients that resume with <c>Last-Event-ID</c>.</summary>
    public int EventsRetained { get; set; } = 1000;

    /// <summary>Events queued for one event-stream client; a client this far behind is cut off.</summary>
    public int EventsClientBuffer { get; set; } = 256;

    /// <summary>How often an idle event stream carries a <c>: keep-alive</c> comment (proxies close silent connections).</summary>
    public TimeSpan EventsKeepAlive { get; set; } = TimeSpan.FromSeconds(15);

    internal void Validate(List<string> errors)
    {
        if (EventsRetained < 1 || EventsClientBuffer < 1 || EventsKeepAlive <= TimeSpan.Zero || string.IsNullOrWhiteSpace(EventsObserverId))
        {
            errors.Add($"{SectionName}:EventsRetained and {SectionName}:EventsClientBuffer must be at least 1, {SectionName}:EventsKeepAlive positive and {SectionName}:EventsObserverId set.");
        }

        if (Seeds.Count == 0)
        {
            errors.Add($"{SectionName}:Seeds must name at least one node ({(Transport == Transport.Dapr ? "app-id" : "URL")}).");
        }

        if (Transport != Transport.Dapr)
        {
            foreach (string seed in Seeds.Where(s => !Uri.TryCreate(s, UriKind.Absolute, out _)))
            {
                errors.Add($"{SectionName}:Seeds: '{seed}' is not an absolute URL.");
            }
        }

        if (RequestTimeout <= TimeSpan.Zero || RefreshInterval <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:RequestTimeout and {SectionName}:RefreshInterval must be positive.");
        }

        // Never more than a node takes: a batch the gateway let through would be refused behind it.
        if (MaxBatch < 1 || MaxBatch > RequestLimits.MaxBatch)
        {
            errors.Add($"{SectionName}:MaxBatch must be between 1 and {RequestLimits.MaxBatch}, what a node takes (was {MaxBatch}).");
        }

        if (MaxBodyBytes < 1024 || MaxBodyBytes > RequestLimits.MaxNodeBodyBytes)
        {
            errors.Add($"{SectionName}:MaxBodyBytes must be between 1 KiB and {RequestLimits.MaxNodeBodyBytes}, what a node reads (was {MaxBodyBytes}).");
        }

        if (CorsAllowCredentials && CorsOrigins.Contains("*"))
        {
            errors.Add($"{SectionName}:CorsOrigins may not hold '*' when {SectionName}:CorsAllowCredentials is true.");
        }

    }
}
