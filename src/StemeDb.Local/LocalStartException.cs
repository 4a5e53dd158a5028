namespace StemeDb.Local;

/// <summary>The embedded cluster could not start, for a reason its message says in one line (a port in use, and which flag moves it).</summary>
public sealed class LocalStartException(string message, Exception? innerException = null) : Exception(message, innerException);
