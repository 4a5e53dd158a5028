using System.Globalization;

namespace StemeDb.Membership.Simulation;

/// <summary>The matrix behind the README's membership table, and the table itself.</summary>
public static class Report
{
    public static List<SimulationResult> Run(int trials, int seed, Action<string> progress)
    {
        var rows = new List<SimulationResult>();
        foreach (bool lifeguard in new[] { true, false })
        {
            foreach (int n in new[] { 16, 100, 1000 })
            {
                progress($"crash N={n} lifeguard={lifeguard}");
                rows.Add(Scenarios.Run("crash", n, trials, seed, lifeguard));
            }

            progress($"loss N=100 lifeguard={lifeguard}");
            rows.Add(Scenarios.Run("loss", 100, trials, seed, lifeguard));
            progress($"pause N=100 lifeguard={lifeguard}");
            rows.Add(Scenarios.Run("pause", 100, trials, seed, lifeguard));
            progress($"disseminate N=1000 lifeguard={lifeguard}");
            rows.Add(Scenarios.Run("disseminate", 1000, trials, seed, lifeguard));
        }

        progress("partition N=100");
        rows.Add(Scenarios.Run("partition", 100, Math.Min(trials, 3), seed, true));
        return rows;
    }

    public static void Print(IEnumerable<SimulationResult> rows, TextWriter output)
    {
        output.WriteLine("| scenario | N | Lifeguard | trials | detection median / max (s) | false deaths (healthy / slow) | to 99.99 % median / max (s) | heal (s) | idle B/s per member | largest datagram (B) |");
        output.WriteLine("| --- | ---: | --- | ---: | --- | --- | --- | ---: | ---: | ---: |");
        foreach (SimulationResult r in rows)
        {
            string detection = r.DetectionMedianSeconds is null ? "" : $"{F(r.DetectionMedianSeconds)} / {F(r.DetectionMaxSeconds)}" + (r.Undetected > 0 ? $" ({r.Undetected} undetected)" : "");
            string deaths = r.FalseDeaths is null ? "" : r.FalseDeathsHealthy is null ? $"{r.FalseDeaths}" : $"{r.FalseDeaths} ({r.FalseDeathsHealthy} / {r.FalseDeathsSlow})";
            string spread = r.DisseminationMedianSeconds is null ? "" : $"{F(r.DisseminationMedianSeconds)} / {F(r.DisseminationMaxSeconds)}";
            output.WriteLine($"| {r.Scenario} | {r.Nodes} | {(r.Lifeguard ? "on" : "off")} | {r.Trials} | {detection} | {deaths} | {spread} | {F(r.HealMedianSeconds)} | {F(r.BytesPerMemberPerSecond)} | {r.LargestDatagram} |");
        }
    }

    private static string F(double? value) => value?.ToString("0.##", CultureInfo.InvariantCulture) ?? "";
}
