using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using StemeDb.Client;

namespace StemeDb.Cli.Commands;

/// <summary>
/// <c>stemedb import [FILE]</c>: JSON lines (one assertion per line) from a file or stdin, written in batches.
/// A bad line is reported with its number and skipped (with <c>--strict</c> it stops the import); a progress
/// line is drawn on a terminal; a summary at the end. Exit 0 when every line was imported, 3 when some were bad.
/// </summary>
public static partial class ImportCommand
{
    public sealed record BadLine(long Line, string Error);

    public sealed record Summary(long Lines, long Imported, long Stored, IReadOnlyList<BadLine> Bad, bool Stopped);

    public static Command Create(GlobalOptions options, CliConsole console)
    {
        var file = new Argument<string?>("file") { Description = "A file of JSON lines; - or none reads stdin", Arity = ArgumentArity.ZeroOrOne };
        var batchSize = new Option<int>("--batch-size") { Description = "Assertions per request (1 to 1000)", DefaultValueFactory = _ => 500 };
        batchSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1000)
            {
                r.AddError("--batch-size must be from 1 to 1000");
            }
        });
        var strict = new Option<bool>("--strict") { Description = "Stop at the first bad line (what was sent before it stays written)" };
        var command = new Command("import", "Import assertions from JSON lines ({\"subject\",\"predicate\",\"object\",\"source\"?,\"confidence\"?} per line), in batches. Bad lines are reported with their numbers and skipped; exit 3 if there were any.")
        {
            file, batchSize, strict,
        };
        return command.Runs(options, console, async (parse, context, cancellationToken) =>
        {
            string? path = parse.GetValue(file);
            TextReader input = path is null or "-" ? console.In : File.OpenText(path);
            try
            {
                var run = new Run(context, parse.GetValue(batchSize), parse.GetValue(strict));
                Summary summary = await run.ExecuteAsync(input, cancellationToken).ConfigureAwait(false);
                if (context.Json)
                {
                    Output.Json(console.Out, summary);
                }
                else
                {
                    console.Out.WriteLine($"imported {summary.Imported} assertions ({summary.Stored} new) from {summary.Lines} lines; {summary.Bad.Count} bad lines{(summary.Stopped ? "; stopped at the first (--strict)" : "")}");
                }

                return summary.Bad.Count == 0 ? ExitCodes.Ok : ExitCodes.Refused;
            }
            finally
            {
                if (!ReferenceEquals(input, console.In))
                {
                    input.Dispose();
                }
            }
        });
    }

    // "assertions[12].subject": the index in the batch of a field the gateway refused.
    [GeneratedRegex(@"^assertions\[(\d+)\]")]
    private static partial Regex BatchIndex();

    /// <summary>One import: reads, checks, batches, sends; keeps the counts.</summary>
    private sealed class Run(CommandContext context, int batchSize, bool strict)
    {
        private readonly List<(long Line, NewAssertion Assertion)> _batch = [];
        private readonly List<BadLine> _bad = [];
        private readonly long _started = context.Console.Time.GetTimestamp();
        private long _lines;
        private long _imported;
        private long _stored;
        private bool _progressShown;

        private bool DrawProgress => context.Console.ErrorIsTerminal && !context.Json;

        public async Task<Summary> ExecuteAsync(TextReader input, CancellationToken cancellationToken)
        {
            try
            {
                while (await input.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
                {
                    _lines++;
                    if (string.IsNullOrWhiteSpace(text))
                    {
                        continue;
                    }

                    (NewAssertion? assertion, string? error) = ImportLine.Parse(text);
                    if (assertion is null)
                    {
                        Bad(_lines, error!);
                        if (strict)
                        {
                            return Finish(stopped: true);
                        }

                        continue;
                    }

                    _batch.Add((_lines, assertion));
                    if (_batch.Count >= batchSize)
                    {
                        if (!await FlushAsync(cancellationToken).ConfigureAwait(false))
                        {
                            return Finish(stopped: true);
                        }
                    }
                }

                bool complete = await FlushAsync(cancellationToken).ConfigureAwait(false);
                return Finish(stopped: !complete);
            }
            catch (Exception e) when (e is StemeDbProblemException or HttpRequestException or OperationCanceledException)
            {
                // Say how far it got before the failure's own line (Failures prints that).
                EndProgress();
                context.Console.Error.WriteLine($"stemedb: import stopped after line {_lines}: {_imported} assertions imported before this");
                throw;
            }
        }

        /// <summary>Sends the batch; a line the gateway refuses is reported and the rest sent again. False when strict and a line was bad.</summary>
        private async Task<bool> FlushAsync(CancellationToken cancellationToken)
        {
            List<(long Line, NewAssertion Assertion)> pending = [.. _batch];
            _batch.Clear();
            while (pending.Count > 0)
            {
                try
                {
                    WriteResult written = await context.Client.WriteBatchAsync([.. pending.Select(p => p.Assertion)], cancellationToken).ConfigureAwait(false);
                    _imported += written.Ids.Count;
                    _stored += written.Stored;
                    ShowProgress();
                    return true;
                }
                catch (StemeDbInvalidInputException e) when (e.Status == 413 && pending.Count > 1)
                {
                    // Too large a body for the gateway: halves, each sent on its own.
                    List<(long, NewAssertion)> rest = pending[(pending.Count / 2)..];
                    _batch.AddRange(pending[..(pending.Count / 2)]);
                    if (!await FlushAsync(cancellationToken).ConfigureAwait(false))
                    {
                        return false;
                    }

                    pending = rest;
                }
                catch (StemeDbInvalidInputException e)
                {
                    var refused = e.Errors
                        .Select(x => (Match: BatchIndex().Match(x.Field), x))
                        .Where(m => m.Match.Success && int.Parse(m.Match.Groups[1].ValueSpan, CultureInfo.InvariantCulture) < pending.Count)
                        .GroupBy(m => int.Parse(m.Match.Groups[1].ValueSpan, CultureInfo.InvariantCulture))
                        .ToDictionary(g => g.Key, g => string.Join("; ", g.Select(m => $"{m.x.Field[(m.Match.Length + 1)..]} {m.x.Message.TrimEnd('.')}")));
                    if (refused.Count == 0)
                    {
                        // Not one line's fault that we can tell: the whole batch is refused, line by line.
                        foreach ((long line, _) in pending)
                        {
                            Bad(line, $"refused with its batch: {e.Title}: {e.Detail}");
                        }

                        return !strict;
                    }

                    foreach ((int index, string why) in refused)
                    {
                        Bad(pending[index].Line, why);
                    }

                    if (strict)
                    {
                        return false;
                    }

                    pending = [.. pending.Where((_, i) => !refused.ContainsKey(i))];
                }
            }

            return true;
        }

        private void Bad(long line, string error)
        {
            _bad.Add(new BadLine(line, error));
            if (!context.Json)
            {
                EndProgress();
                context.Console.Error.WriteLine($"line {line}: {error}");
            }
        }

        private void ShowProgress()
        {
            if (!DrawProgress)
            {
                return;
            }

            double seconds = Math.Max(context.Console.Time.GetElapsedTime(_started).TotalSeconds, 0.001);
            context.Console.Error.Write(string.Create(CultureInfo.InvariantCulture, $"\rimporting: {_imported} assertions from {_lines} lines, {_imported / seconds:0}/s, {_bad.Count} bad   "));
            _progressShown = true;
        }

        private void EndProgress()
        {
            if (_progressShown)
            {
                context.Console.Error.WriteLine();
                _progressShown = false;
            }
        }

        private Summary Finish(bool stopped)
        {
            EndProgress();
            return new Summary(_lines, _imported, _stored, [.. _bad], stopped);
        }
    }
}
