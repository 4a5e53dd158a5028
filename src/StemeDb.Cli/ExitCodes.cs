namespace StemeDb.Cli;

/// <summary>The exit codes scripts can rely on (README "Command-line tool").</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The command line is wrong: an unknown command or option, a missing argument, a bad value.</summary>
    public const int Usage = 1;

    /// <summary>Nothing there: no assertion matched a <c>get</c>, a <c>retract</c> named none.</summary>
    public const int NotFound = 2;

    /// <summary>The gateway refused the input (invalid assertion, subject or id; too large; any other 4xx), or an import had bad lines.</summary>
    public const int Refused = 3;

    /// <summary>The cluster could not serve it: gateway unreachable or not ready, no quorum (503), a timeout (504), a broken answer (5xx).</summary>
    public const int Unavailable = 4;

    /// <summary>Interrupted (Ctrl+C) before the command finished; <c>watch</c> ends with 0 instead, that is how it stops.</summary>
    public const int Interrupted = 130;
}
