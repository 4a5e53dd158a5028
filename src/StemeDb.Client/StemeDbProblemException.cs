using StemeDb.Contracts;

namespace StemeDb.Client;

/// <summary>
/// The gateway refused or failed a call with an RFC 7807 problem (or a status without one). The subclasses
/// name the cases a caller handles differently: <see cref="StemeDbInvalidInputException"/> (400, 413, 415:
/// fix the input), <see cref="StemeDbNotFoundException"/> (404), <see cref="StemeDbUnavailableException"/>
/// (503: no live replica or no quorum; retry later), <see cref="StemeDbTimeoutException"/> (504 or no answer
/// in time; a write may or may not be stored, and sending it again is safe).
/// </summary>
public class StemeDbProblemException(int status, string title, string? detail, string? type = null, string? node = null, IReadOnlyList<ValidationError>? errors = null, Exception? innerException = null)
    : Exception(detail is null ? $"{status} {title}" : $"{status} {title}: {detail}", innerException)
{
    /// <summary>The HTTP status of the answer.</summary>
    public int Status { get; } = status;

    public string Title { get; } = title;

    public string? Detail { get; } = detail;

    /// <summary>The problem's <c>type</c> URI, when it had one.</summary>
    public string? Type { get; } = type;

    /// <summary>The node that answered (the gateway's <c>X-StemeDb-Node</c> header), when the answer came from one.</summary>
    public string? Node { get; } = node;

    /// <summary>The fields at fault, for an invalid assertion (the problem's <c>errors</c>); empty otherwise.</summary>
    public IReadOnlyList<ValidationError> Errors { get; } = errors ?? [];
}
