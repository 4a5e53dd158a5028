namespace StemeDb.Dapr.Testing;

/// <summary>The policies that apply to one target (an app, or a component's inbound or outbound side); null: none.</summary>
public sealed record PolicyDefinition(TimeSpan? Timeout, RetryPolicy? Retry, CircuitBreakerPolicy? CircuitBreaker)
{
    public static PolicyDefinition None { get; } = new(null, null, null);
}
