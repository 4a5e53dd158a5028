using System.CommandLine;
using System.CommandLine.Help;
using StemeDb.Cli.Commands;

namespace StemeDb.Cli;

/// <summary>The <c>stemedb</c> command line: parsing, the commands, and the mapping of every failure to one stderr line and an exit code.</summary>
public static class CliApp
{
    /// <summary>Runs one command line; the process's entry point, and the tests' (with their own console).</summary>
    public static async Task<int> RunAsync(string[] args, CliConsole console, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(console);
        var options = new GlobalOptions();
        RootCommand root = Build(options, console);
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            // One line, and where to look: not the whole help text under it.
            console.Error.WriteLine($"stemedb: {parse.Errors[0].Message} (stemedb --help lists the commands and options)");
            return ExitCodes.Usage;
        }

        var invocation = new InvocationConfiguration
        {
            Output = console.Out,
            Error = console.Error,
            EnableDefaultExceptionHandler = false, // our actions report their own failures; none escapes as a stack trace
            ProcessTerminationTimeout = null, // Program turns Ctrl+C and SIGTERM into the token
        };
        return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }

    private static RootCommand Build(GlobalOptions options, CliConsole console)
    {
        var root = new RootCommand(
            "stemedb: the command-line tool of a StemeDb cluster, through its gateway.\n" +
            "Exit codes: 0 ok, 1 usage, 2 not found, 3 refused (invalid input; an import with bad lines), 4 unavailable (unreachable, no quorum, timeout), 130 interrupted.")
        {
            options.Gateway,
            options.ApiKey,
            options.Json,
        };
        foreach (Command command in new[]
        {
            StatusCommand.Create(options, console),
            MembersCommand.Create(options, console),
            RangesCommand.Create(options, console),
            PutCommand.Create(options, console),
            GetCommand.Create(options, console),
            RetractCommand.Create(options, console),
            WatchCommand.Create(options, console),
            ImportCommand.Create(options, console),
        })
        {
            root.Add(command);
        }

        root.SetAction(parse =>
        {
            // No command: the help, and the usage code (a script that forgot the command must notice).
            new HelpAction().Invoke(parse);
            return ExitCodes.Usage;
        });
        return root;
    }

    /// <summary>Gives <paramref name="command"/> an action run with a client on the chosen gateway; failures become exit codes.</summary>
    internal static Command Runs(this Command command, GlobalOptions options, CliConsole console, Func<ParseResult, CommandContext, CancellationToken, Task<int>> run)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            CommandContext context;
            try
            {
                context = CommandContext.Create(parse, options, console);
            }
            catch (UsageException e)
            {
                return Failures.Report(e, console, null);
            }

            using (context)
            {
                try
                {
                    return await run(parse, context, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    console.Error.WriteLine("stemedb: interrupted");
                    return ExitCodes.Interrupted;
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    return Failures.Report(e, console, context.Gateway);
                }
            }
        });
        return command;
    }
}
