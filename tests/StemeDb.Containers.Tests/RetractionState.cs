namespace StemeDb.Containers.Tests;

/// <summary>What a client knows about the retraction of an acknowledged write.</summary>
public enum RetractionState
{
    /// <summary>Never retracted (or only refused retractions): it must be read back, current.</summary>
    None,

    /// <summary>A retraction ended indeterminate: it must be read back, current or retracted.</summary>
    Maybe,

    /// <summary>A retraction was acknowledged: it must be read back, retracted.</summary>
    Retracted,
}
