namespace StemeDb.Dapr.Testing;

/// <summary>One subscription the app declared: where events of a topic go, and where they go when dropped.</summary>
public sealed record Subscription(string PubSub, string Topic, string Route, string? DeadLetterTopic = null);
