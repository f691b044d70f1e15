using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Viewstamped.Benchmarks.HotPaths -- --filter '*'
// (add --job short for a quick look; --inProcess skips building a separate process per benchmark,
// which on a busy machine can exceed the two-minute build timeout). Built by CI, never run there.
BenchmarkSwitcher.FromAssembly(typeof(Viewstamped.Benchmarks.HotPaths.CodecBenchmarks).Assembly).Run(args);
