namespace StemeDb.Contracts;

/// <summary>What is wrong with one field of an input, for a 400 answer that names it.</summary>
public sealed record ValidationError(string Field, string Message);

/// <summary>An assertion or retraction that breaks <see cref="AssertionLimits"/> or is not well-formed.</summary>
public sealed class InvalidAssertionException(IReadOnlyList<ValidationError> errors)
    : Exception(string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")))
{
    public IReadOnlyList<ValidationError> Errors { get; } = errors;
}
