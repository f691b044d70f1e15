namespace Viewstamped.KeyValue;

/// <summary>
/// What INFO's memory section reports, filled by the server from its process and the garbage
/// collector (the library reads no ambient state). Byte counts throughout.
/// </summary>
public sealed record MemoryInfo
{
    /// <summary>Bytes the managed heap holds now, live and not yet collected (<c>used_memory</c>).</summary>
    public long Used { get; init; }

    /// <summary>The process's resident set size (<c>used_memory_rss</c>).</summary>
    public long Rss { get; init; }

    /// <summary>The largest <see cref="Used"/> the server has seen (<c>used_memory_peak</c>).</summary>
    public long UsedPeak { get; init; }

    /// <summary>The largest resident set size of the process so far (<c>used_memory_rss_peak</c>).</summary>
    public long RssPeak { get; init; }

    /// <summary>Bytes the key-value store holds for its keys, if the server knows (<c>used_memory_dataset</c>).</summary>
    public long? Dataset { get; init; }

    /// <summary>The garbage collector's mode, e.g. <c>workstation</c> (<c>gc_mode</c>).</summary>
    public string GcMode { get; init; } = "workstation";

    /// <summary>The managed heap after the last collection, fragmentation included (<c>gc_heap_size</c>).</summary>
    public long GcHeapSize { get; init; }

    /// <summary>Memory the collector has committed from the operating system (<c>gc_committed</c>).</summary>
    public long GcCommitted { get; init; }

    /// <summary>Free space between objects of the heap after the last collection (<c>gc_fragmented</c>).</summary>
    public long GcFragmented { get; init; }

    /// <summary>
    /// The size of each generation after the last collection: gen0, gen1, gen2, the large-object heap
    /// and the pinned-object heap (<c>gc_gen0_size</c> ... <c>gc_poh_size</c>); fewer when unknown.
    /// </summary>
    public IReadOnlyList<long> GcGenerationSizes { get; init; } = [];

    /// <summary>Collections of gen0, gen1 and gen2 so far (<c>gc_gen0_collections</c> ...).</summary>
    public IReadOnlyList<long> GcCollections { get; init; } = [];

    /// <summary>The share of time the collector has paused the process, in percent (<c>gc_pause_time_percentage</c>).</summary>
    public double GcPauseTimePercentage { get; init; }
}
