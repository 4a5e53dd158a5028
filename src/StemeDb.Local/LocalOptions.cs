using System.Globalization;

namespace StemeDb.Local;

/// <summary>The command line of the embedded cluster.</summary>
public sealed record LocalOptions
{
    public const int DefaultSwimBasePort = 7946;
    public const int DefaultHttpBasePort = 5001;
    public const int DefaultGatewayPort = 8080;

    public int Nodes { get; init; } = 3;

    public bool Gateway { get; init; } = true;

    /// <summary>The gateway's port; unset: 8080, or a free port when <see cref="Seed"/> is set (0: a free port).</summary>
    public int? GatewayPort { get; init; }

    /// <summary>
    /// The k-th node of this process listens for SWIM on this port + k − 1; unset: 7946, or free ports when
    /// <see cref="Seed"/> is set, so that a second process needs no other flag than its seed.
    /// </summary>
    public int? SwimBasePort { get; init; }

    /// <summary>The k-th node of this process serves HTTP on this port + k − 1 (0: any free port); unset: 5001, or free ports when seeded.</summary>
    public int? HttpBasePort { get; init; }

    /// <summary>Join an existing cluster through this SWIM address instead of forming a new one.</summary>
    public string? Seed { get; init; }

    public string DataDirectory { get; init; } = "./data";

    /// <summary>--help was asked for: print <see cref="Help"/> and start nothing.</summary>
    public bool ShowHelp { get; init; }

    public const string Help =
        """
        StemeDb.Local: a StemeDb cluster in one process (nodes and a gateway, no Dapr).

        usage: dotnet run --project src/StemeDb.Local -- [options]

        options:
          --nodes N             nodes in this process, 1..16 (default 3)
          --no-gateway          start no gateway in this process
          --gateway-port P      the gateway's HTTP port, 0 for a free one (default 8080; a free one with --seed)
          --swim-base-port P    SWIM (UDP) port of the first node; the k-th listens on P+k-1
                                (default 7946; free ports with --seed)
          --http-base-port P    HTTP port of the first node; the k-th listens on P+k-1, 0 for free ports
                                (default 5001; free ports with --seed)
          --seed HOST:PORT      join the cluster of another process through that SWIM address
                                (the first process's node 1 listens on 127.0.0.1:7946)
          --data-dir DIR        where each node keeps its store, one folder per node (default ./data)
          -h, --help            this text

        A second process on the same machine needs only --seed: its ports are chosen free and printed.
        Its node ids follow their SWIM ports (stemedb-node-<port>); give --swim-base-port to keep the same
        ids, and so the same data, across restarts.
        Environment: Cluster__Swim__Keys__0 sets the SWIM key (without it a fixed development key is used).
        Exit codes: 0 stopped cleanly, 1 could not start (a port in use, a data directory of another cluster),
        2 bad arguments.
        """;

    /// <summary>Parses the arguments; the error names the bad one.</summary>
    public static (LocalOptions? Options, string? Error) Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new LocalOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? Next() => i + 1 < args.Length ? args[++i] : null;
            bool Port(string? text, out int port) => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is >= 0 and <= 65535;
            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    options = options with { ShowHelp = true };
                    break;
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
                    return (null, $"bad or incomplete argument '{arg}' (--nodes takes 1..16, ports 0..65535, --seed HOST:PORT; --help lists every option)");
            }
        }

        return (options, null);
    }
}
