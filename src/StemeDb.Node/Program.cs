using StemeDb.Cluster.Configuration;
using StemeDb.Node;
using StemeDb.Storage;

try
{
    WebApplication app = NodeApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is ClusterConfigException or StorageException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
