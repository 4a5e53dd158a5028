using StemeDb.LoadTest;

// dotnet run -c Release --project tests/StemeDb.LoadTest -- compare [--peer etcd] | ranges | run --target URL ...
try
{
    switch (args.FirstOrDefault())
    {
        case "compare" when args.Length > 2 && args[1] == "--peer":
            return args[2] == "etcd"
                ? await PeerCompareCommand.RunAsync(args[3..], CancellationToken.None)
                : throw new ArgumentException($"unknown peer {args[2]} (etcd is the one there is)");
        case "compare":
            return await CompareCommand.RunAsync(args[1..]);
        case "distribution":
            return await DistributionCommand.RunAsync(args[1..], CancellationToken.None);
        case "scaling":
            return await ScalingCommand.RunAsync(args[1..], CancellationToken.None);
        case "ranges":
            return await RangesCommand.RunAsync(args[1..]);
        case "run":
            LoadOptions options = LoadOptions.Parse(args[1..]);
            using (var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { Timeout = TimeSpan.FromSeconds(10) })
            {
                LeaderMap? leaders = options.Api == "node" ? await LeaderMap.LoadAsync(http, options.Target, CancellationToken.None) : null;
                LoadResult result = await new LoadRunner(options, http, leaders).RunAsync(CancellationToken.None);
                Console.Error.WriteLine(result);
                Console.WriteLine(result.ToJson());
            }

            return 0;
        default:
            Console.Error.WriteLine(LoadOptions.Usage);
            return 2;
    }
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}
