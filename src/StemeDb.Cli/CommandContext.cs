using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using StemeDb.Client;

namespace StemeDb.Cli;

/// <summary>What a command runs with: the console, the chosen output form, and a client on the chosen gateway.</summary>
public sealed class CommandContext : IDisposable
{
    private readonly ServiceProvider _services;

    private CommandContext(CliConsole console, bool json, Uri gateway, ServiceProvider services)
    {
        Console = console;
        Json = json;
        Gateway = gateway;
        _services = services;
        Client = services.GetRequiredService<StemeDbClient>();
    }

    public CliConsole Console { get; }

    public bool Json { get; }

    public Uri Gateway { get; }

    public StemeDbClient Client { get; }

    /// <summary>The context for one invocation, or a usage error for a gateway address that is not one.</summary>
    public static CommandContext Create(ParseResult parse, GlobalOptions options, CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(console);
        string text = parse.GetValue(options.Gateway) is { Length: > 0 } flag ? flag
            : console.Environment("STEMEDB_GATEWAY") is { Length: > 0 } env ? env
            : GlobalOptions.DefaultGateway;
        if (!Uri.TryCreate(text, UriKind.Absolute, out Uri? gateway) || (gateway.Scheme != Uri.UriSchemeHttp && gateway.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"--gateway must be an http:// or https:// address (was '{text}')");
        }

        string? key = parse.GetValue(options.ApiKey) ?? console.Environment("STEMEDB_API_KEY");
        var services = new ServiceCollection();
        services.AddLogging(); // no provider: the tool speaks through its own output, not log lines
        services.AddSingleton(console.Time);
        services.AddStemeDbClient(o =>
        {
            o.Gateway = gateway;
            o.ApiKey = string.IsNullOrEmpty(key) ? null : key;
            // A person waits at a prompt: fail fast on a gateway that is not there, still ride over a blip.
            o.MaxRetries = 2;
            o.RetryDelay = TimeSpan.FromMilliseconds(200);
            o.AttemptTimeout = TimeSpan.FromSeconds(30);
            o.TotalTimeout = TimeSpan.FromSeconds(65);
        });
        return new CommandContext(console, parse.GetValue(options.Json), gateway, services.BuildServiceProvider());
    }

    public void Dispose() => _services.Dispose();
}
