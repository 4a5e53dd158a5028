namespace StemeDb.Client;

/// <summary>404: what was named does not exist (for a retraction: no such assertion of that subject).</summary>
public sealed class StemeDbNotFoundException(string title, string? detail, string? type = null, string? node = null)
    : StemeDbProblemException(404, title, detail, type, node);
