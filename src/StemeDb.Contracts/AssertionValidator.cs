using System.Text;
using System.Text.Json;
using StemeDb.Cluster.Hashing;

namespace StemeDb.Contracts;

/// <summary>Checks an assertion's parts against <see cref="AssertionLimits"/>; every error names its field.</summary>
public static class AssertionValidator
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static List<ValidationError> Validate(string? subject, string? predicate, JsonElement? @object, string? source, double? confidence)
    {
        var errors = new List<ValidationError>();
        Text(errors, "subject", subject, SubjectRules.MinBytes, AssertionLimits.MaxSubjectBytes, required: true);
        Text(errors, "predicate", predicate, 1, AssertionLimits.MaxPredicateBytes, required: true);
        Text(errors, "source", source, 1, AssertionLimits.MaxSourceBytes, required: false);
        if (confidence is { } c && (!double.IsFinite(c) || c < 0 || c > 1))
        {
            errors.Add(new ValidationError("confidence", $"must be a number from 0 to 1 (was {c})."));
        }

        if (@object is not { } value || value.ValueKind == JsonValueKind.Undefined)
        {
            errors.Add(new ValidationError("object", "is required: any JSON value."));
        }
        else
        {
            string? problem = CheckJson(value, 1);
            if (problem is not null)
            {
                errors.Add(new ValidationError("object", problem));
            }
            else if (CanonicalForm.CanonicalJson(value).Length > AssertionLimits.MaxObjectBytes)
            {
                errors.Add(new ValidationError("object", $"is larger than {AssertionLimits.MaxObjectBytes} bytes as JSON."));
            }
        }

        return errors;
    }

    private static void Text(List<ValidationError> errors, string field, string? value, int min, int max, bool required)
    {
        if (value is null)
        {
            if (required)
            {
                errors.Add(new ValidationError(field, "is required."));
            }

            return;
        }

        int bytes;
        try
        {
            bytes = Strict.GetByteCount(value);
        }
        catch (EncoderFallbackException)
        {
            errors.Add(new ValidationError(field, "is not valid Unicode (a lone surrogate)."));
            return;
        }

        if (bytes < min || bytes > max)
        {
            errors.Add(new ValidationError(field, $"must be {min} to {max} bytes of UTF-8 (was {bytes})."));
        }
    }

    private static string? CheckJson(JsonElement value, int depth)
    {
        if (depth > AssertionLimits.MaxObjectDepth)
        {
            return $"is nested deeper than {AssertionLimits.MaxObjectDepth} levels.";
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                var keys = new HashSet<string>(StringComparer.Ordinal);
                foreach (JsonProperty p in value.EnumerateObject())
                {
                    if (ReadText(() => p.Name) is not { } name)
                    {
                        return "has a key that is not valid Unicode (a lone surrogate, such as \\ud800 escaped alone).";
                    }

                    if (!keys.Add(name))
                    {
                        return $"has the key '{name}' twice.";
                    }

                    string? inner = CheckJson(p.Value, depth + 1);
                    if (inner is not null)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.Array:
                foreach (JsonElement item in value.EnumerateArray())
                {
                    string? inner = CheckJson(item, depth + 1);
                    if (inner is not null)
                    {
                        return inner;
                    }
                }

                return null;
            case JsonValueKind.String when ReadText(value.GetString) is null:
                // JSON lets a lone surrogate be escaped; UTF-8 cannot carry it, so the canonical form (and the id) could not be made.
                return "holds a string that is not valid Unicode (a lone surrogate, such as \\ud800 escaped alone).";
            default:
                return null;
        }
    }

    /// <summary>The text, or null where JSON escaped a lone surrogate (the reader refuses to make a string of it).</summary>
    private static string? ReadText(Func<string?> read)
    {
        try
        {
            return read();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }
}
