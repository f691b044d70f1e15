using System.Globalization;
using System.Runtime;
using Spectre.Console;
using Viewstamped.Cli.Commands;
using Viewstamped.Simulation;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Cli.Simulate;

/// <summary>Runs what <c>vsr simulate</c> was asked for and reports it.</summary>
internal static class SimulateRunner
{
    public static int Run(SimulateSettings settings, TextWriter output, TextWriter error)
    {
        if (settings.SeedDrawn)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed: {settings.FirstSeed} (random; pass --seed {settings.FirstSeed} to replay)"));
        }

        if (settings.Seeds == 1 && !settings.Json && !settings.Trace && IsInteractiveTerminal(output))
        {
            return InteractiveRunner.Run(settings, output);
        }

        return settings.Seeds == 1 ? RunOne(settings, output, error) : RunSweep(settings, output);
    }

    /// <summary>Only with a real terminal on both ends: never when standard input is redirected (as in CI).</summary>
    private static bool IsInteractiveTerminal(TextWriter output) =>
        !Console.IsInputRedirected && !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out)
        && Environment.GetEnvironmentVariable("CI") is null;

    private static int RunOne(SimulateSettings settings, TextWriter output, TextWriter error)
    {
        var collectionsHeld = HoldCollections(settings.Options);
        var clock = new RunClock();
        var simulation = new SimulationRun(settings.Options with { Trace = settings.Trace ? output : null });
        var result = simulation.Run();
        var (elapsed, cpu) = (clock.ElapsedSeconds, clock.CpuSeconds);
        if (collectionsHeld)
        {
            ResumeCollections();
        }

        if (settings.HistoryFile is { } file)
        {
            try
            {
                using var writer = new StreamWriter(file);
                EdnHistoryWriter.Write(writer, simulation.Workload.History);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"vsr simulate: cannot write the history to {file}: {e.Message}");
                return ExitCodes.BadArguments;
            }
        }

        Report(settings, result, output);
        output.WriteLine($"  faults: {result.Faults}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {result.Ticks} ticks (healed at {result.HealedAt}, longest wait after that {result.LongestWaitAfterHeal}, converged in {result.ConvergenceTicks}), {result.MessagesSent} messages ({result.MessagesDropped} lost), checkpoint interval {result.CheckpointInterval}, log suffix {result.LogSuffix}, checkpoint bytes {result.CheckpointBytesInterval}, view-change committed bytes {result.ViewChangeCommittedBytesMax}, fingerprint {result.Fingerprint:x16}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {elapsed:0.000} s ({cpu:0.000} s CPU), {result.OpsCommitted / Math.Max(elapsed, 1e-9):0} ops/s"));
        var summary = Summary.Of([result], elapsed, cpu, settings.FirstSeed);
        if (settings.Json)
        {
            output.WriteLine(summary.ToJson());
        }

        return summary.ExitCode;
    }

    /// <summary>
    /// Asks the GC not to collect while one seed runs, when the garbage the run makes (measured at
    /// about 1 KB per request with every checker on) fits a bounded budget: a single run is a batch
    /// job of a few seconds that keeps its whole client history alive to the end, so every collection
    /// in it mostly copies that history from one generation to the next, and a 192,000-request run
    /// spent about a sixth of its CPU time doing so. The heap then grows by the budget instead
    /// (about 200 MB for that run). Should the run allocate more, the GC ends the region by itself
    /// and collects as usual; a sweep never holds collections, since it runs seeds in parallel for
    /// minutes.
    /// </summary>
    private static bool HoldCollections(SimulationOptions options)
    {
        const long BytesPerRequest = 1024;
        const long BudgetMin = 16L << 20;
        const long BudgetMax = 512L << 20;
        var budget = (long)options.Clients * options.RequestsPerClient * BytesPerRequest;
        if (budget < BudgetMin)
        {
            // A small run collects little anyway; a no-GC region starts with a full collection and commits its budget.
            return false;
        }

        try
        {
            return GC.TryStartNoGCRegion(Math.Min(budget, BudgetMax));
        }
        catch (ArgumentOutOfRangeException)
        {
            // More than this GC can set aside: collect as usual.
            return false;
        }
    }

    /// <summary>Ends the no-GC region of <see cref="HoldCollections"/>, unless an allocation beyond its budget already did.</summary>
    private static void ResumeCollections()
    {
        if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
        {
            GC.EndNoGCRegion();
        }
    }

    private static int RunSweep(SimulateSettings settings, TextWriter output)
    {
        var count = settings.Seeds;
        var results = new SimulationResult[count];
        var gate = new Lock();
        var clock = new RunClock();
        var showProgress = !settings.Json && !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out);

        void RunAll(Action<SimulationResult> done) =>
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = settings.Jobs }, i =>
            {
                var result = Simulator.Run(settings.Options with { Seed = settings.FirstSeed + (ulong)i });
                results[i] = result;
                lock (gate)
                {
                    done(result);
                }
            });

        if (showProgress)
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(context =>
                {
                    var task = context.AddTask($"{count} seeds from {settings.FirstSeed}", maxValue: count);
                    var failed = 0;
                    RunAll(result =>
                    {
                        task.Increment(1);
                        if (!result.Passed)
                        {
                            task.Description = $"{count} seeds from {settings.FirstSeed}, [red]{++failed} failed[/]";
                        }
                    });
                });
        }
        else
        {
            RunAll(result =>
            {
                if (!result.Passed && !settings.Json)
                {
                    output.WriteLine($"seed {result.Seed}: FAILED ({Kind(result.Failure)})");
                }
            });
        }

        var (elapsed, cpu) = (clock.ElapsedSeconds, clock.CpuSeconds);
        foreach (var result in results.Where(r => !r.Passed))
        {
            Report(settings, result, output);
        }

        var summary = Summary.Of(results, elapsed, cpu, settings.FirstSeed);
        output.WriteLine(summary.ToText());
        if (settings.Json)
        {
            output.WriteLine(summary.ToJson());
        }

        return summary.ExitCode;
    }

    /// <summary>One line on a run; for a failure, what failed and the command that replays it.</summary>
    public static void Report(SimulateSettings settings, SimulationResult result, TextWriter output)
    {
        if (result.Passed)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"seed {result.Seed}: passed: {result.OpsCommitted} ops committed, {result.RequestsCompleted} of {result.RequestsInvoked} requests completed ({result.RequestsUnknown} unknown), {Verdict(result.Linearizability)}, {result.ViewChanges} view changes, {result.Crashes} crashes, {result.ClientCrashes} client crashes, {result.Partitions} partitions{(result.PowerLosses > 0 ? $", {result.PowerLosses} power losses" : string.Empty)}{(result.LatentCorruptions > 0 ? $", {result.LatentCorruptions} latent corruptions" : string.Empty)}{(result.EntriesRepaired > 0 ? $", {result.EntriesRepaired} entries repaired" : string.Empty)}"));
            return;
        }

        output.WriteLine($"seed {result.Seed}: FAILED ({Kind(result.Failure)}): {result.Message}");
        output.WriteLine($"  replay: {settings.ReplayCommand(result.Seed)}");
    }

    public static string Kind(FailureKind kind) => kind switch
    {
        FailureKind.Correctness => "correctness",
        FailureKind.Liveness => "liveness",
        FailureKind.Crash => "unexpected exception",
        _ => "none",
    };

    private static string Verdict(Verdict verdict) => verdict switch
    {
        Simulation.Linearizability.Verdict.Linearizable => "linearizable",
        Simulation.Linearizability.Verdict.NotLinearizable => "NOT linearizable",
        _ => "linearizability unknown",
    };
}
