using System.Diagnostics;

namespace Viewstamped.Cli.Simulate;

/// <summary>
/// Wall-clock time and the process's CPU time since a run started. On a machine shared with other
/// work the wall time of a run varies with their load; its CPU time varies much less, so a change to
/// the simulator's speed is best compared by both.
/// </summary>
internal sealed class RunClock
{
    private readonly Stopwatch wall = Stopwatch.StartNew();
    private readonly TimeSpan cpuAtStart = CpuTime();

    /// <summary>Gets the wall-clock seconds since the start.</summary>
    public double ElapsedSeconds => wall.Elapsed.TotalSeconds;

    /// <summary>Gets the CPU seconds the process used since the start, on all its threads.</summary>
    public double CpuSeconds => (CpuTime() - cpuAtStart).TotalSeconds;

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }
}
