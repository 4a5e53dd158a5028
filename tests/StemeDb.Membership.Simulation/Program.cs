using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using StemeDb.Membership.Simulation;

// dotnet run -c Release --project tests/StemeDb.Membership.Simulation -- --scenario crash --nodes 100 --trials 20 --seed 1 --lifeguard on
// --scenario report runs the matrix the README shows.
var options = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["scenario"] = "crash",
    ["nodes"] = "100",
    ["trials"] = "10",
    ["seed"] = "1",
    ["lifeguard"] = "on",
};
for (int i = 0; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length || !options.ContainsKey(args[i][2..]))
    {
        return Usage($"unexpected argument '{args[i]}'");
    }

    options[args[i][2..]] = args[++i];
}

if (!int.TryParse(options["nodes"], CultureInfo.InvariantCulture, out int nodes) || nodes is < 3 or > 5000)
{
    return Usage("--nodes must be 3..5000");
}

if (!int.TryParse(options["trials"], CultureInfo.InvariantCulture, out int trials) || trials is < 1 or > 1000)
{
    return Usage("--trials must be 1..1000");
}

if (!int.TryParse(options["seed"], CultureInfo.InvariantCulture, out int seed))
{
    return Usage("--seed must be an integer");
}

if (options["lifeguard"] is not ("on" or "off"))
{
    return Usage("--lifeguard must be on or off");
}

string scenario = options["scenario"];
if (scenario != "report" && !Scenarios.Names.Contains(scenario))
{
    return Usage($"--scenario must be one of {string.Join(", ", Scenarios.Names)}, report");
}

var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
var clock = Stopwatch.StartNew();
if (scenario == "report")
{
    List<SimulationResult> rows = Report.Run(trials, seed, line => Console.Error.WriteLine(line));
    Report.Print(rows, Console.Out);
    Console.WriteLine($"(wall time {clock.Elapsed.TotalSeconds:F0} s)");
    Console.WriteLine(JsonSerializer.Serialize(rows, json));
    return 0;
}

SimulationResult result = Scenarios.Run(scenario, nodes, trials, seed, options["lifeguard"] == "on");
Report.Print([result], Console.Out);
Console.WriteLine($"(wall time {clock.Elapsed.TotalSeconds:F0} s)");
Console.WriteLine(JsonSerializer.Serialize(result, json));
return 0;

static int Usage(string error)
{
    Console.Error.WriteLine($"error: {error}");
    Console.Error.WriteLine("usage: --scenario crash|loss|pause|disseminate|partition|report --nodes N --trials T --seed X --lifeguard on|off");
    return 2;
}
