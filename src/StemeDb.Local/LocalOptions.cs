using System.Globalization;

namespace StemeDb.Local;

/// <summary>The command line of the embedded cluster.</summary>
public sealed record LocalOptions
{
    public int Nodes { get; init; } = 3;

    public bool Gateway { get; init; } = true;

    public int GatewayPort { get; init; } = 8080;

    /// <summary>The k-th node of this process listens for SWIM on this port + k − 1.</summary>
    public int SwimBasePort { get; init; } = 7946;

    /// <summary>The k-th node of this process serves HTTP on this port + k − 1 (0: any free port).</summary>
    public int HttpBasePort { get; init; } = 5001;

    /// <summary>Join an existing cluster through this SWIM address instead of forming a new one.</summary>
    public string? Seed { get; init; }

    public string DataDirectory { get; init; } = "./data";

    public const string Usage =
        "usage: dotnet run --project src/StemeDb.Local -- [--nodes N] [--no-gateway] [--gateway-port P] " +
        "[--swim-base-port P] [--http-base-port P] [--seed HOST:PORT] [--data-dir DIR]";

    /// <summary>Parses the arguments; the error names the bad one.</summary>
    public static (LocalOptions? Options, string? Error) Parse(string[] args)
    {
        var options = new LocalOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            bool Port(string? text, out int port) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 0 and <= 65535;
            switch (arg)
            {
                case "--nodes" when int.TryParse(Next(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 1 and <= 16:
                    options = options with { Nodes = n };
                    break;
                case "--no-gateway":
                    options = options with { Gateway = false };
                    break;
                case "--gateway-port" when Port(Next(), out int p):
                    options = options with { GatewayPort = p };
                    break;
                case "--swim-base-port" when Port(Next(), out int p) && p > 0:
                    options = options with { SwimBasePort = p };
                    break;
                case "--http-base-port" when Port(Next(), out int p):
                    options = options with { HttpBasePort = p };
                    break;
                case "--seed" when Next() is { } seed && seed.LastIndexOf(':') > 0:
                    options = options with { Seed = seed };
                    break;
                case "--data-dir" when Next() is { Length: > 0 } dir:
                    options = options with { DataDirectory = dir };
                    break;
                default:
                    return (null, $"bad or incomplete argument '{arg}' (--nodes takes 1..16, ports 0..65535, --seed HOST:PORT)");
            }
        }

        return (options, null);
    }
}
