namespace StemeDb.Client;

/// <summary>One dispatched server-sent event: its <c>id</c> (the stream's last id, as the HTML standard keeps it), <c>event</c> type and <c>data</c>.</summary>
/// <param name="Retry">A <c>retry:</c> field seen with this event (the server's suggested reconnection delay), if any.</param>
internal sealed record ServerSentEvent(string? Id, string Type, string Data, TimeSpan? Retry);
