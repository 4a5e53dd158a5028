using System.CommandLine;

namespace StemeDb.Cli;

/// <summary>The options every command takes (recursive on the root command).</summary>
public sealed class GlobalOptions
{
    public const string DefaultGateway = "http://127.0.0.1:8080";

    public Option<string?> Gateway { get; } = new("--gateway", "-g")
    {
        Description = $"The gateway's address [env: STEMEDB_GATEWAY; default: {DefaultGateway}]",
        Recursive = true,
        HelpName = "URL",
    };

    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "Sent as X-Api-Key [env: STEMEDB_API_KEY]",
        Recursive = true,
        HelpName = "KEY",
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Machine-readable JSON on stdout instead of tables",
        Recursive = true,
    };
}
