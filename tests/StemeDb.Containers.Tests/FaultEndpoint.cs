namespace StemeDb.Containers.Tests;

/// <summary>A container as <see cref="NetworkFaults"/> sees it: a name for messages, its container id (to find its network namespace) and its address on the test network.</summary>
public sealed record FaultEndpoint(string Name, string ContainerId, string Address)
{
    public override string ToString() => $"{Name} ({Address})";
}
