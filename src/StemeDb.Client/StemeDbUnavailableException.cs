namespace StemeDb.Client;

/// <summary>
/// 503: no live replica, no read or write quorum, or the gateway not ready. A write refused so may or may not
/// be stored; sending it again is safe (an assertion's id is its content hash).
/// </summary>
public sealed class StemeDbUnavailableException(string title, string? detail, string? type = null, string? node = null)
    : StemeDbProblemException(503, title, detail, type, node);
