namespace StemeDb.Containers.Tests;

/// <summary>Packets the fault rules of one container have dropped so far, by protocol (UDP carries SWIM, TCP the HTTP APIs).</summary>
public sealed record DroppedPackets(long Udp, long Tcp, long Other);
