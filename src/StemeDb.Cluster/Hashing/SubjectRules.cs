using System.Buffers;
using System.Text.Unicode;
using StemeDb.Cluster.Errors;

namespace StemeDb.Cluster.Hashing;

/// <summary>What makes a subject valid: 1..1024 bytes of well-formed UTF-8 (README, "Storage and the node app").</summary>
public static class SubjectRules
{
    public const int MinBytes = 1;
    public const int MaxBytes = 1024;

    /// <summary>Checks a UTF-8 subject; throws <see cref="InvalidSubjectException"/> naming the rule broken.</summary>
    public static void Validate(ReadOnlySpan<byte> utf8Subject)
    {
        if (utf8Subject.Length < MinBytes)
        {
            throw new InvalidSubjectException("The subject is empty; it must be 1 to 1024 bytes of UTF-8.");
        }

        if (utf8Subject.Length > MaxBytes)
        {
            throw new InvalidSubjectException(
                $"The subject is {utf8Subject.Length} bytes of UTF-8; at most {MaxBytes} are allowed.");
        }

        if (!Utf8.IsValid(utf8Subject))
        {
            throw new InvalidSubjectException("The subject is not well-formed UTF-8.");
        }
    }

    /// <summary>Checks a subject given as UTF-16 text, by the length of its UTF-8 form.</summary>
    public static void Validate(ReadOnlySpan<char> subject)
    {
        if (subject.IsEmpty)
        {
            throw new InvalidSubjectException("The subject is empty; it must be 1 to 1024 bytes of UTF-8.");
        }

        // Longer than MaxBytes chars means longer than MaxBytes bytes: no need to encode it.
        if (subject.Length > MaxBytes)
        {
            throw new InvalidSubjectException(
                $"The subject is {subject.Length} characters long; at most {MaxBytes} bytes of UTF-8 are allowed.");
        }

        Span<byte> buffer = stackalloc byte[MaxBytes * 3];
        int bytes = EncodeUtf8(subject, buffer);
        if (bytes > MaxBytes)
        {
            throw new InvalidSubjectException(
                $"The subject is {bytes} bytes of UTF-8; at most {MaxBytes} are allowed.");
        }
    }

    /// <summary>Strict UTF-16 → UTF-8: a lone surrogate is an error, never silently replaced.</summary>
    internal static int EncodeUtf8(ReadOnlySpan<char> subject, Span<byte> destination)
    {
        OperationStatus status = Utf8.FromUtf16(subject, destination, out _, out int written, replaceInvalidSequences: false);
        return status switch
        {
            OperationStatus.Done => written,
            OperationStatus.InvalidData => throw new InvalidSubjectException(
                "The subject contains a lone surrogate, so it has no UTF-8 form."),
            _ => throw new InvalidSubjectException("The subject could not be encoded as UTF-8."),
        };
    }
}
