using BenchmarkDotNet.Running;

// dotnet run -c Release --project tests/StemeDb.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(StemeDb.Benchmarks.RouteLookupBenchmarks).Assembly).Run(args);
