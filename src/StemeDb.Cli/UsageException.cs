namespace StemeDb.Cli;

/// <summary>A command line that parsed but makes no sense (exit code <see cref="ExitCodes.Usage"/>).</summary>
public sealed class UsageException(string message) : Exception(message);
