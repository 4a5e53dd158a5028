namespace StemeDb.Containers.Tests;

/// <summary>One gateway as the workload uses it: its name in the history ("A", "B") and a client for its public API.</summary>
public sealed record GatewayClient(string Name, HttpClient Http);
