using System.Collections.Concurrent;
using System.Diagnostics;
using StemeDb.Testing;

namespace StemeDb.EndToEnd.Tests;

/// <summary>
/// One built app running as its own process (<c>dotnet App.dll</c>), its output kept for failure messages.
/// <see cref="Kill"/> is SIGKILL: no shutdown hooks, no flush.
/// </summary>
public sealed class AppProcess : IAsyncDisposable
{
    private const int KeptLines = 200;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly ConcurrentQueue<string> _firstLines = new(); // the start banner, kept whole
    private readonly ConcurrentDictionary<string, int> _counted = new(StringComparer.Ordinal);

    private AppProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>The first lines the app printed (its start banner).</summary>
    public IReadOnlyList<string> FirstLines => [.. _firstLines];

    /// <summary>From now on, counts the output lines that hold <paramref name="fragment"/> (all of them, not only the kept ones).</summary>
    public void Count(string fragment) => _counted.TryAdd(fragment, 0);

    /// <summary>How many lines held <paramref name="fragment"/> since <see cref="Count"/>.</summary>
    public int Counted(string fragment) => _counted.GetValueOrDefault(fragment);

    public string Output => $"--- {Name} (last {KeptLines} lines) ---\n" + string.Join('\n', _output);

    public static AppProcess Start(string name, string dll, IReadOnlyDictionary<string, string?> environment, params string[] arguments) =>
        StartIn(Path.GetDirectoryName(dll)!, name, dll, environment, arguments);

    /// <summary>As <see cref="Start"/>, in <paramref name="workingDirectory"/> (where relative paths such as a default <c>./data</c> land).</summary>
    public static AppProcess StartIn(string workingDirectory, string name, string dll, IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host's own ASP.NET and Dapr settings must not leak into the app.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DAPR_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        foreach ((string key, string? value) in environment)
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var app = new AppProcess(name, process);
        process.OutputDataReceived += (_, e) => app.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => app.Keep(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return app;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx; fails with the app's output if it exits or takes too long.</summary>
    public async Task WaitHealthyAsync(Uri url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Poll.UntilAsync(
            async () =>
            {
                ThrowIfExited();
                using HttpResponseMessage response = await http.GetAsync(url);
                return response.IsSuccessStatusCode;
            },
            timeout,
            $"{Name} answers {url}",
            step: TimeSpan.FromMilliseconds(200),
            diagnostics: () => Task.FromResult(Output),
            retryOn: e => e is HttpRequestException or TaskCanceledException);
    }

    /// <summary>The first line the app printed that matches, once it has printed it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        string? line = null;
        await Poll.UntilAsync(
            () =>
            {
                line = _firstLines.FirstOrDefault(match);
                if (line is null)
                {
                    ThrowIfExited();
                }

                return line is not null;
            },
            timeout,
            $"{Name} prints the line awaited",
            step: TimeSpan.FromMilliseconds(100),
            diagnostics: () => Task.FromResult(Output));
        return line!;
    }

    /// <summary>SIGTERM (what `kill`, `timeout` and service managers send); true if the process exited within <paramref name="timeout"/>.</summary>
    public bool Terminate(TimeSpan timeout)
    {
        using (Process kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            kill.WaitForExit();
        }

        return _process.WaitForExit(timeout);
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>SIGKILL, then waits for the process to be gone.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit(10_000);
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>An app that exited will not answer or print: the wait ends at once, with its output.</summary>
    private void ThrowIfExited()
    {
        if (_process.HasExited)
        {
            _process.WaitForExit(); // drains the redirected output
            throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}.\n{Output}");
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (_firstLines.Count < KeptLines)
        {
            _firstLines.Enqueue(line);
        }

        foreach ((string fragment, int _) in _counted)
        {
            if (line.Contains(fragment, StringComparison.Ordinal))
            {
                _counted.AddOrUpdate(fragment, 1, (_, n) => n + 1);
            }
        }

        _output.Enqueue(line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }
    }
}
