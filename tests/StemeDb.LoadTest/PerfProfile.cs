using System.Globalization;
using StemeDb.Testing;

namespace StemeDb.LoadTest;

/// <summary>
/// Linux <c>perf</c> CPU samples of one process (a node container's .NET process, seen from the host), written
/// as text reports: by thread and by shared object and symbol. The container runs with
/// <c>DOTNET_PerfMapEnabled=1</c>, so the runtime writes its JIT symbol map to the container's /tmp; the map is
/// copied to the host's /tmp under the host PID, where <c>perf report</c> looks. Reported at once, while the
/// container (and its libraries, read through /proc/PID/root) still exists.
/// </summary>
public static class PerfProfile
{
    public static async Task RecordAsync(int pid, TimeSpan duration, string directory, string name, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(directory);
        string data = Path.Combine(directory, name + ".perf.data");
        string seconds = Math.Max(1, (int)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        HostCommand.Result recorded = await HostCommand.RunAsync(
            "perf", ["record", "-e", "cpu-clock", "-F", "499", "-g", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", data, "--", "sleep", seconds],
            duration + TimeSpan.FromSeconds(30), cancellationToken: cancellationToken);
        if (recorded.ExitCode != 0)
        {
            Console.Error.WriteLine($"perf record of PID {pid} failed ({recorded.ExitCode}): {recorded.Stderr.Trim()}");
            return;
        }

        string containerTmp = $"/proc/{pid}/root/tmp";
        string[] maps = System.IO.Directory.Exists(containerTmp) ? System.IO.Directory.GetFiles(containerTmp, "perf-*.map") : [];
        if (maps.Length > 0)
        {
            // The runtime names the map after its PID inside the container; perf looks for the host PID.
            await using FileStream merged = File.Create($"/tmp/perf-{pid}.map");
            foreach (string map in maps)
            {
                await using FileStream part = File.OpenRead(map);
                await part.CopyToAsync(merged, cancellationToken);
            }
        }

        foreach ((string suffix, string[] sort) in new[] { ("threads", new[] { "--sort", "comm" }), ("symbols", new[] { "--sort", "dso,symbol" }) })
        {
            HostCommand.Result report = await HostCommand.RunAsync(
                "perf", ["report", "-i", data, "--stdio", "--no-children", "-g", "none", "--percent-limit", "0.5", .. sort],
                TimeSpan.FromMinutes(3), cancellationToken: cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, $"{name}.{suffix}.txt"), report.Stdout + report.Stderr, cancellationToken);
        }

        Console.Error.WriteLine($"perf: {name} ({seconds} s of PID {pid}) in {directory}");
    }
}
