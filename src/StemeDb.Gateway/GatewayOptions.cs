namespace StemeDb.Gateway;

/// <summary>The gateway's settings (section <c>Gateway</c>).</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary><c>Direct</c> (node HTTP addresses) or <c>Dapr</c> (invocation by app-id, topics).</summary>
    public string Transport { get; set; } = "Direct";

    /// <summary>Nodes to take the first snapshot from: URLs (direct) or app-ids (Dapr).</summary>
    public List<string> Seeds { get; set; } = [];

    public string PubSubName { get; set; } = "pubsub";

    /// <summary>Per request to a node. Writes are idempotent (content ids), so retrying one elsewhere is safe.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the routing table and member list are refreshed from a node (besides topics).</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    public int MaxBatch { get; set; } = 1000;

    public long MaxBodyBytes { get; set; } = 1 << 20;

    /// <summary>Origins allowed by CORS; none unless listed. "*" is allowed only without credentials.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    public bool CorsAllowCredentials { get; set; }

    /// <summary>When any are set, every /v1 request needs one in the <c>X-Api-Key</c> header.</summary>
    public List<string> ApiKeys { get; set; } = [];

    public bool UsesDapr => string.Equals(Transport, "Dapr", StringComparison.OrdinalIgnoreCase);

    internal List<string> Validate()
    {
        var errors = new List<string>();
        if (!UsesDapr && !string.Equals(Transport, "Direct", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{SectionName}:Transport must be Direct or Dapr (was '{Transport}').");
        }

        if (Seeds.Count == 0)
        {
            errors.Add($"{SectionName}:Seeds must name at least one node ({(UsesDapr ? "app-id" : "URL")}).");
        }

        if (!UsesDapr)
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

        if (MaxBatch is < 1 or > 10_000)
        {
            errors.Add($"{SectionName}:MaxBatch must be between 1 and 10000 (was {MaxBatch}).");
        }

        if (MaxBodyBytes is < 1024 or > 64 << 20)
        {
            errors.Add($"{SectionName}:MaxBodyBytes must be between 1 KiB and 64 MiB (was {MaxBodyBytes}).");
        }

        if (CorsAllowCredentials && CorsOrigins.Contains("*"))
        {
            errors.Add($"{SectionName}:CorsOrigins may not hold '*' when {SectionName}:CorsAllowCredentials is true.");
        }

        return errors;
    }
}
