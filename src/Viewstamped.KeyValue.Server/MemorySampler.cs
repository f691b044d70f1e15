using System.Diagnostics;
using System.Runtime;

namespace Viewstamped.KeyValue.Server;

/// <summary>
/// Reads the process's memory for INFO's memory section: the garbage collector's figures of its
/// last collection, the resident set size, and the peaks. Safe to call from any thread.
/// </summary>
internal sealed class MemorySampler(Func<long>? dataset)
{
    private long usedPeak;

    /// <summary>
    /// The memory now. The peak of the managed heap is the largest this sampler has seen, at each call
    /// and just before the last collection (where the heap was largest), so it is a lower bound.
    /// </summary>
    public MemoryInfo Sample()
    {
        var used = GC.GetTotalMemory(forceFullCollection: false);
        var last = GC.GetGCMemoryInfo(GCKind.Any);
        var generations = last.GenerationInfo;
        var sizes = new long[generations.Length];
        var before = 0L;
        for (var i = 0; i < generations.Length; i++)
        {
            sizes[i] = generations[i].SizeAfterBytes;
            before += generations[i].SizeBeforeBytes;
        }

        var peak = Math.Max(used, before);
        var seen = Volatile.Read(ref usedPeak);
        while (peak > seen)
        {
            var was = Interlocked.CompareExchange(ref usedPeak, peak, seen);
            if (was == seen)
            {
                break;
            }

            seen = was;
        }

        using var process = Process.GetCurrentProcess();
        return new MemoryInfo
        {
            Used = used,
            Rss = process.WorkingSet64,
            UsedPeak = Math.Max(peak, seen),
            RssPeak = process.PeakWorkingSet64,
            Dataset = dataset?.Invoke(),
            GcMode = (GCSettings.IsServerGC ? "server" : "workstation") + (GCSettings.LatencyMode == GCLatencyMode.Batch ? string.Empty : "-concurrent"),
            GcHeapSize = last.HeapSizeBytes,
            GcCommitted = last.TotalCommittedBytes,
            GcFragmented = last.FragmentedBytes,
            GcGenerationSizes = sizes,
            GcCollections = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)],
            GcPauseTimePercentage = last.PauseTimePercentage,
        };
    }
}
