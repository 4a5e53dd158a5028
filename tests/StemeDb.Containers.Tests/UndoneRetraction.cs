namespace StemeDb.Containers.Tests;

/// <summary>
/// An acknowledged retraction whose assertion came back as current: in a read that began after the
/// acknowledgement, or (<paramref name="Read"/> null) in the final read-back.
/// </summary>
public sealed record UndoneRetraction(Operation Retraction, Operation? Read);
