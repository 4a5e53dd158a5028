namespace StemeDb.Client;

/// <summary>
/// 504 from the gateway (no replica answered in time), or no answer within the client's own timeout (then
/// <see cref="Exception.InnerException"/> is what ended the wait). A write may or may not be stored; sending
/// it again is safe.
/// </summary>
public sealed class StemeDbTimeoutException(string title, string? detail, string? type = null, string? node = null, Exception? innerException = null)
    : StemeDbProblemException(504, title, detail, type, node, null, innerException);
