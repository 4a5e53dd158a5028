namespace StemeDb.Client;

/// <summary>
/// A write acknowledged by a write quorum: the ids in the order the assertions were sent. <see cref="Stored"/>
/// counts those new to the cluster; an assertion already stored (written before, or by a retried attempt)
/// keeps its id and is not counted.
/// </summary>
public sealed record WriteResult(IReadOnlyList<string> Ids, int Stored);
