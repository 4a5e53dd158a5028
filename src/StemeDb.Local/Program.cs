using StemeDb.Cluster.Configuration;
using StemeDb.Local;
using StemeDb.Storage;

(LocalOptions? options, string? error) = LocalOptions.Parse(args);
if (options is null)
{
    Console.Error.WriteLine($"error: {error}");
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(LocalOptions.Help);
    return 0;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // shut down cleanly: nodes leave the cluster, RocksDB closes
    stop.Cancel();
};

// SIGTERM (kill, timeout, a service manager) the same way. Without this the embedded apps' console
// lifetimes took the signal, each stopped its own host, and the process itself kept running.
using var onTerminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, signal =>
{
    signal.Cancel = true;
    stop.Cancel();
});

LocalCluster cluster;
try
{
    cluster = await LocalCluster.StartAsync(options, stop.Token);
}
catch (Exception e) when (e is LocalStartException or ClusterConfigException or StorageException or IOException or System.Net.Sockets.SocketException or StemeDb.Cluster.Membership.SwimJoinException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}

await using (cluster)
{
    if (options.Seed is { } seed)
    {
        Console.WriteLine($"joining the cluster at {seed}");
    }

    foreach ((string id, string swim, Uri http) in cluster.Nodes)
    {
        Console.WriteLine($"node {id}: SWIM {swim}, HTTP {http}");
    }

    if (cluster.GatewayUrl is { } gateway)
    {
        Console.WriteLine($"gateway: {gateway}");
        Console.WriteLine("try:");
        Console.WriteLine($"  curl -X POST {gateway}v1/assertions -H 'content-type: application/json' -d '{{\"subject\":\"user:42\",\"predicate\":\"name\",\"object\":\"Ada\"}}'");
        Console.WriteLine($"  curl {gateway}v1/subjects/user:42/assertions");
        Console.WriteLine($"  curl '{gateway}v1/assertions?subject=user%3A42'   # the form for any subject (an IRI, a/b, ..): percent-encoded");
    }

    Console.WriteLine("Ctrl+C stops the cluster.");
    try
    {
        await Task.Delay(Timeout.Infinite, stop.Token);
    }
    catch (OperationCanceledException)
    {
        Console.WriteLine("stopping...");
    }
}

return 0;
