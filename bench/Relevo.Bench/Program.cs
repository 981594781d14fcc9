using Relevo.Bench;

// Plain console benchmark harness: `dotnet run -c Release --project bench/Relevo.Bench -- <benchmark> [options]`.
// Add a benchmark by implementing IBenchmark and listing it in Benchmarks.All.
return BenchHost.Run(args);
