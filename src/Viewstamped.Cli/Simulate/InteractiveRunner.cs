using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Viewstamped.Simulation;

namespace Viewstamped.Cli.Simulate;

/// <summary>
/// A single seed with a live view: a table of every replica and the throughput, and keys to crash
/// (<c>c I</c>) and restart (<c>r I</c>) replica I, partition (<c>p</c>: isolate the primary), heal
/// (<c>h</c>), go faster or slower (<c>+</c>, <c>-</c>) and quit (<c>q</c>). Entered only when both
/// standard input and output are terminals; what you type changes the run, so it no longer replays.
/// </summary>
internal static class InteractiveRunner
{
    private static readonly TimeSpan Frame = TimeSpan.FromMilliseconds(100);

    public static int Run(SimulateSettings settings, TextWriter output)
    {
        var run = new SimulationRun(settings.Options);
        var ticksPerFrame = 50;
        var clock = Stopwatch.StartNew();
        var quit = false;
        char? pending = null;
        var status = "running";
        var lastOps = 0L;
        var lastTime = TimeSpan.Zero;
        var opsPerSecond = 0.0;

        AnsiConsole.Live(Render(run, ticksPerFrame, opsPerSecond, status)).AutoClear(false).Start(context =>
        {
            while (!quit)
            {
                var frameEnd = clock.Elapsed + Frame;
                for (var i = 0; i < ticksPerFrame && run.Step(); i++)
                {
                }

                while (Console.KeyAvailable)
                {
                    var key = Console.ReadKey(intercept: true).KeyChar;
                    if (pending is { } command && char.IsAsciiDigit(key))
                    {
                        var index = key - '0';
                        if (index < settings.Options.Replicas)
                        {
                            if (command == 'c')
                            {
                                run.CrashReplica(index);
                                status = $"crashed r{index}";
                            }
                            else
                            {
                                run.RestartReplica(index);
                                status = $"restarted r{index}";
                            }
                        }

                        pending = null;
                        continue;
                    }

                    pending = null;
                    switch (char.ToLowerInvariant(key))
                    {
                        case 'c' or 'r':
                            pending = char.ToLowerInvariant(key);
                            status = pending == 'c' ? "crash which replica? (digit)" : "restart which replica? (digit)";
                            break;
                        case 'p':
                            run.Partition(PartitionKind.IsolatePrimary);
                            status = "isolated the primary";
                            break;
                        case 'h':
                            run.HealNetwork();
                            status = "healed the network";
                            break;
                        case '+':
                            ticksPerFrame = Math.Min(ticksPerFrame * 2, 1 << 20);
                            break;
                        case '-':
                            ticksPerFrame = Math.Max(ticksPerFrame / 2, 1);
                            break;
                        case 'q':
                            quit = true;
                            break;
                    }
                }

                var now = clock.Elapsed;
                var ops = (long)run.Cluster.Checker.HighestCommitted.Value;
                if (now - lastTime >= TimeSpan.FromSeconds(1))
                {
                    opsPerSecond = (ops - lastOps) / (now - lastTime).TotalSeconds;
                    lastOps = ops;
                    lastTime = now;
                }

                if (run.Phase == SimulationPhase.Finished)
                {
                    status = run.Result!.Passed ? "finished: passed" : $"finished: FAILED ({SimulateRunner.Kind(run.Result.Failure)})";
                    quit = true;
                }

                context.UpdateTarget(Render(run, ticksPerFrame, opsPerSecond, status));
                if (!quit && clock.Elapsed < frameEnd)
                {
                    Thread.Sleep(frameEnd - clock.Elapsed);
                }
            }
        });

        if (run.Result is { } result)
        {
            SimulateRunner.Report(settings, result, output);
            return Summary.Of([result], clock.Elapsed.TotalSeconds, 0, settings.FirstSeed).ExitCode;
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {settings.Options.Seed}: quit at tick {run.Now}, no failure so far"));
        return Commands.ExitCodes.Ok;
    }

    private static IRenderable Render(SimulationRun run, int ticksPerFrame, double opsPerSecond, string status)
    {
        var table = new Table().Title($"seed {run.Options.Seed} — tick {run.Now} — {run.Phase.ToString().ToLowerInvariant()}");
        foreach (var column in new[] { "replica", "status", "view", "op", "commit", "checkpoint", "role" })
        {
            table.AddColumn(column);
        }

        var cluster = run.Cluster;
        for (var i = 0; i < cluster.ReplicaCount; i++)
        {
            if (!cluster.IsUp(i))
            {
                table.AddRow($"r{i}", "[red]down[/]", string.Empty, string.Empty, string.Empty, string.Empty, string.Empty);
                continue;
            }

            var replica = cluster.Replica(i);
            var statusName = SimulationRun.StatusName(replica.Status);
            table.AddRow(
                $"r{i}",
                replica.Status == ReplicaStatus.Normal ? statusName : $"[yellow]{statusName}[/]",
                replica.View.ToString(),
                replica.Op.ToString(),
                replica.CommitNumber.ToString(),
                replica.CheckpointOp.ToString(),
                replica.IsPrimary ? "[green]primary[/]" : "backup");
        }

        var workload = run.Workload;
        var lines = new Rows(
            table,
            new Markup(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"{opsPerSecond:0} ops/s committed, {workload.Completed} of {workload.Invoked} requests completed, {run.Crashes} crashes, {ticksPerFrame * 10} ticks/s"))),
            new Markup(Markup.Escape($"faults: {run.Faults}")),
            new Markup("[grey]keys: c I crash replica I, r I restart it, p isolate the primary, h heal, + faster, - slower, q quit[/]"),
            new Markup(Markup.Escape(status)));
        return lines;
    }
}
