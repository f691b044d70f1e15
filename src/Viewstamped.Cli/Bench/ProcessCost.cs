using System.Diagnostics;

namespace Viewstamped.Cli.Bench;

/// <summary>
/// What this process has spent so far: CPU time (user and system, every thread), bytes allocated on
/// the managed heap, and garbage collections of every generation. The difference of two snapshots
/// is the cost of what ran between them, which on a shared machine is steadier than wall-clock
/// latency: other work on the machine delays this process but does not add to its CPU time.
/// </summary>
internal readonly record struct ProcessCost(TimeSpan Cpu, long AllocatedBytes, int Collections)
{
    public static ProcessCost Now()
    {
        using var process = Process.GetCurrentProcess();
        return new ProcessCost(process.TotalProcessorTime, GC.GetTotalAllocatedBytes(precise: false), GC.CollectionCount(0));
    }

    public static ProcessCost operator -(ProcessCost after, ProcessCost before) =>
        new(after.Cpu - before.Cpu, after.AllocatedBytes - before.AllocatedBytes, after.Collections - before.Collections);
}
