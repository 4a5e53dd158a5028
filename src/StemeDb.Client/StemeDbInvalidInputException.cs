using StemeDb.Contracts;

namespace StemeDb.Client;

/// <summary>The input was refused (400, 413 too large, 415): sending it again cannot succeed. <see cref="StemeDbProblemException.Errors"/> names the fields.</summary>
public sealed class StemeDbInvalidInputException(int status, string title, string? detail, string? type = null, string? node = null, IReadOnlyList<ValidationError>? errors = null)
    : StemeDbProblemException(status, title, detail, type, node, errors);
