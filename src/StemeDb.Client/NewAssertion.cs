using System.Text.Json;

namespace StemeDb.Client;

/// <summary>
/// An assertion to write: the node that stores it stamps its time, and its id is the hash of its content, so
/// writing the same assertion twice stores it once (and answers with the same id).
/// </summary>
/// <param name="Object">Any JSON value; <see cref="Of{T}"/> serializes one from a .NET value.</param>
public sealed record NewAssertion(string Subject, string Predicate, JsonElement Object, string? Source = null, double? Confidence = null)
{
    /// <summary>An assertion whose object is <paramref name="value"/> serialized as JSON (camelCase, as the API reads it).</summary>
    public static NewAssertion Of<T>(string subject, string predicate, T value, string? source = null, double? confidence = null) =>
        new(subject, predicate, JsonSerializer.SerializeToElement(value, JsonSerializerOptions.Web), source, confidence);
}
