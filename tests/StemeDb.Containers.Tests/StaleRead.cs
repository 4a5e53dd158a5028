namespace StemeDb.Containers.Tests;

/// <summary>A read that began after <paramref name="Write"/> was acknowledged and returned 200 without it.</summary>
public sealed record StaleRead(Operation Read, Operation Write);
