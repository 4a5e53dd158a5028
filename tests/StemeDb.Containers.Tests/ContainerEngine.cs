using System.Diagnostics;
using Docker.DotNet;
using StemeDb.Testing;

namespace StemeDb.Containers.Tests;

/// <summary>
/// The container engine the tests drive: podman's (or Docker's) API socket, found as Testcontainers finds
/// it (<c>DOCKER_HOST</c>), and the test image built from this checkout. Without an engine the suite is
/// skipped with the reason, unless <c>STEMEDB_REQUIRE_CONTAINERS=1</c> (set by <c>.ci/run</c>) makes
/// that a failure.
/// </summary>
public static class ContainerEngine
{
    private static readonly Lazy<string?> Missing = new(FindMissing);

    /// <summary>Why the suite cannot run here, or null.</summary>
    public static string? Unavailable => Missing.Value;

    public static bool Required => Environment.GetEnvironmentVariable("STEMEDB_REQUIRE_CONTAINERS") == "1";

    public static void SkipUnlessAvailable()
    {
        if (Unavailable is { } reason)
        {
            if (Required)
            {
                throw new InvalidOperationException($"STEMEDB_REQUIRE_CONTAINERS=1 but {reason}");
            }

            Skip.If(true, reason);
        }
    }

    public static DockerClient Client() => new DockerClientBuilder().Build();

    /// <summary>Runs build-image.sh (publish, root filesystem, <c>podman import</c>, cached by content) and returns the image tag.</summary>
    public static async Task<string> BuildImageAsync(CancellationToken cancellationToken)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "build-image.sh");
        string configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string output = await HostCommand.RunCheckedAsync("bash", [script, configuration], TimeSpan.FromMinutes(10), RepositoryRoot(), new Dictionary<string, string> { ["STEMEDB_REPO"] = RepositoryRoot() }, cancellationToken);
        return output.Trim().Split('\n')[^1].Trim();
    }

    public static string RepositoryRoot() => StemeDb.Testing.RepositoryRoot.Find();

    private static string? FindMissing()
    {
        string? host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        string socket = host is not null && host.StartsWith("unix://", StringComparison.Ordinal) ? host["unix://".Length..] : "/var/run/docker.sock";
        if (host is not null && !host.StartsWith("unix://", StringComparison.Ordinal))
        {
            return null; // a TCP engine: let Testcontainers try it
        }

        if (!File.Exists(socket))
        {
            return $"no container engine: {socket} does not exist (start `podman system service -t 0 unix:///run/podman/podman.sock` and set DOCKER_HOST; see .ci/run)";
        }

        try
        {
            using var version = Process.Start(new ProcessStartInfo("podman", ["--version"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
            version.WaitForExit();
            return version.ExitCode == 0 ? null : "the podman CLI does not run (it imports the test image)";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "the podman CLI is not installed (it imports the test image: `apt-get install podman runc`)";
        }
    }
}
