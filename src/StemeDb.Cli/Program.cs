using System.Runtime.InteropServices;
using StemeDb.Cli;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // end the command cleanly (watch returns 0, an import prints its summary so far)
    stop.Cancel();
};
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal =>
{
    signal.Cancel = true;
    stop.Cancel();
});

return await CliApp.RunAsync(args, CliConsole.Process(), stop.Token);
