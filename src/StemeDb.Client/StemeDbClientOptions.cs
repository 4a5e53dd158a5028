namespace StemeDb.Client;

/// <summary>Where the gateway is and how to talk to it; bound by <see cref="StemeDbServiceCollectionExtensions.AddStemeDbClient"/>.</summary>
public sealed class StemeDbClientOptions
{
    /// <summary>The gateway's base address, e.g. <c>http://127.0.0.1:8080/</c> (the paths under <c>/v1</c> are added to it).</summary>
    public Uri Gateway { get; set; } = new("http://127.0.0.1:8080/");

    /// <summary>Sent as <c>X-Api-Key</c> on every request when set.</summary>
    public string? ApiKey { get; set; }

    /// <summary>How long one attempt of a call may take before it is abandoned (and retried).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a call may take with all its retries. Not applied to the event stream, which runs until cancelled.</summary>
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Retries of a call after its first attempt on a transient failure (5xx, 408, 429, a lost connection); 0 turns retries off.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The wait before the first retry; later ones back off exponentially, with jitter.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The first wait before an event stream reconnects; doubled after each failed attempt up to <see cref="WatchMaxBackoff"/>.</summary>
    public TimeSpan WatchInitialBackoff { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest wait between two reconnection attempts of an event stream.</summary>
    public TimeSpan WatchMaxBackoff { get; set; } = TimeSpan.FromSeconds(10);
}
