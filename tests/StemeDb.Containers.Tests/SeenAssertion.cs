namespace StemeDb.Containers.Tests;

/// <summary>One assertion as a read returned it: its id, and whether it came back retracted (only reads with history=true return those).</summary>
public sealed record SeenAssertion(string Id, bool Retracted);
