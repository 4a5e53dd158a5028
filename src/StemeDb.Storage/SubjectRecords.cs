using StemeDb.Contracts;

namespace StemeDb.Storage;

/// <summary>
/// Everything one store holds of a subject: its assertions (with the retraction times this store knows)
/// and every tombstone, including those naming an assertion this store does not hold. A majority read
/// needs the latter: an acknowledged retraction may sit on replicas that missed the assertion itself.
/// </summary>
public sealed record SubjectRecords(IReadOnlyList<StoredAssertion> Assertions, IReadOnlyList<Retraction> Retractions);
