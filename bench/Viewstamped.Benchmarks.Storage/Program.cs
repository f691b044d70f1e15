using System.Diagnostics;
using System.Globalization;
using Viewstamped.Benchmarks.Storage;

// vsr storage benchmark. Modes:
//   (no arguments) | run [--dir DIR] [--seconds S] [--startup-entries N] [--sizes 128,4096,65536]
//   crash-writer DIR WRITERS ENTRY_SIZE   appends with WRITERS concurrent writers and prints "ack OP" once
//                                         OP is durable; the power-loss test kills it with SIGKILL. It exits
//                                         by itself at end of standard input or after two minutes.
var mode = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "run";
var options = args.SkipWhile(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
switch (mode)
{
    case "crash-writer":
        return await CrashWriter.RunAsync(args[1], int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
    case "run":
        var settings = BenchmarkSettings.Parse(options);
        var stopwatch = Stopwatch.StartNew();
        await StorageBenchmark.RunAsync(settings, Console.Out);
        Console.WriteLine($"total time {stopwatch.Elapsed.TotalSeconds:F1} s");
        return 0;
    default:
        Console.Error.WriteLine($"unknown mode '{mode}': use 'run' or 'crash-writer'");
        return 1;
}
