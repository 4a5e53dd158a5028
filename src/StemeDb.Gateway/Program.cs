using StemeDb.Cluster.Configuration;
using StemeDb.Gateway;

try
{
    WebApplication app = GatewayApp.Build(args);
    await app.RunAsync();
    return 0;
}
catch (ClusterConfigException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
