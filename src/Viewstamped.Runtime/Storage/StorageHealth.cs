namespace Viewstamped.Runtime.Storage;

/// <summary>
/// What opening a data directory found wrong, precisely enough for a replica to repair it from its
/// peers later (protocol-aware repair). <see cref="FileStorage.Load"/> never returns corrupt data: a
/// corrupt record in the middle of the log ends the returned log before it, and it is listed here.
/// </summary>
public sealed class StorageHealth
{
    /// <summary>Superblock copies that are valid and current, out of <see cref="SuperblockCopies"/>.</summary>
    public int SuperblockCopiesValid { get; init; }

    /// <summary>The number of superblock copies.</summary>
    public int SuperblockCopies { get; init; }

    /// <summary>
    /// True when the log was cut because of corruption (not a torn write): records that had been made
    /// durable are damaged or missing. The log returned ends before the first damaged record.
    /// </summary>
    public bool LogCorrupt { get; init; }

    /// <summary>Ops of log entries whose record header is intact but whose body failed its checksum.</summary>
    public IReadOnlyList<OpNumber> CorruptEntries { get; init; } = [];

    /// <summary>
    /// Ops of intact log entries found after the corruption. They are not returned (the log ends before
    /// the damage) and are voided at the next write; a repairing replica could use them.
    /// </summary>
    public IReadOnlyList<OpNumber> EntriesAfterCorruption { get; init; } = [];

    /// <summary>Unacknowledged records of a torn last batch that were dropped.</summary>
    public int TornRecords { get; init; }

    /// <summary>Bytes after the last record kept (a torn tail, or garbage after corruption) that the next write removes.</summary>
    public long TornBytes { get; init; }

    /// <summary>Ops of checkpoints whose file is missing or failed its checksum.</summary>
    public IReadOnlyList<OpNumber> CorruptCheckpoints { get; init; } = [];

    /// <summary>True when the current checkpoint is corrupt and <see cref="FileStorage.Load"/> falls back to the previous one and the log after it.</summary>
    public bool UsesPreviousCheckpoint { get; init; }

    /// <summary>
    /// True when the current checkpoint is corrupt and the previous one cannot replace it (it is corrupt
    /// too, missing, or the log after it was reclaimed): <see cref="FileStorage.Load"/> then returns the
    /// intact previous checkpoint or nothing, no log, and <see cref="DurableState.LogDamaged"/>, and the
    /// replica fetches a checkpoint and the log from its peers.
    /// </summary>
    public bool CheckpointLost { get; init; }

    /// <summary>Every problem found, as a sentence.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>True when every superblock copy is current and nothing is corrupt. A cut torn write is normal after a power failure and does not count.</summary>
    public bool IsHealthy => SuperblockCopiesValid == SuperblockCopies && !LogCorrupt && CorruptEntries.Count == 0 && CorruptCheckpoints.Count == 0;

    /// <inheritdoc />
    public override string ToString() => Problems.Count == 0 ? "healthy" : string.Join(Environment.NewLine, Problems);
}

/// <summary>Counters of a <see cref="FileStorage"/>'s work since it was opened.</summary>
public sealed class FileStorageStatistics
{
    /// <summary>Log records written.</summary>
    public long Records { get; init; }

    /// <summary>Batches written, each with one fsync of the log.</summary>
    public long Batches { get; init; }

    /// <summary>Every fsync done (log, superblock copies, checkpoint files and directories).</summary>
    public long Syncs { get; init; }

    /// <summary>Syncs of the batch ring, done when the log went idle or closed (counted in <see cref="Syncs"/> too).</summary>
    public long SummarySyncs { get; init; }

    /// <summary>Bytes written to the log.</summary>
    public long LogBytes { get; init; }

    /// <summary>Superblock updates (each writes every copy).</summary>
    public long SuperblockWrites { get; init; }

    /// <summary>Records read while opening.</summary>
    public long RecordsScanned { get; init; }

    /// <summary>Bytes read while opening.</summary>
    public long BytesScanned { get; init; }

    /// <summary>Log records per batch, on average.</summary>
    public double RecordsPerBatch => Batches == 0 ? 0 : (double)Records / Batches;
}

/// <summary>Tuning of a <see cref="FileStorage"/>.</summary>
public sealed record FileStorageOptions
{
    /// <summary>A segment file that reached this size is closed and the next batch starts a new one. Default 64 MiB.</summary>
    public long SegmentSizeBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// After a batch of several appends (<see cref="FileStorage.AppendAsync"/>), how long the log writer
    /// waits for that many appenders to queue again before the next fsync (it starts at once when they
    /// have). Zero disables the wait. Readies (<see cref="FileStorage.PersistAsync"/>, a replica loop's
    /// writes) are never waited for. Default 200 µs.
    /// </summary>
    public TimeSpan GroupCommitGather { get; init; } = TimeSpan.FromMicroseconds(200);

    /// <summary>
    /// How far past the end of the log the active segment is extended with zeros, a step at a time, so
    /// that the fsync after an append has only data to write. An append that grows the file also changes
    /// its size, and fdatasync then writes the inode too: on ext4 that is a second synchronous write
    /// (about 0.25 ms per fsync instead of 0.13 ms measured on the development machine's disk). The
    /// scanner reads a zero-filled segment tail as free space, not as a torn write. Zero disables it: the
    /// file then ends where the log does. Never more than the segment size. Default 1 MiB.
    /// </summary>
    public long PreallocateBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// How long the log must stay idle (nothing queued, no batch being written) before the batch ring, the
    /// record of which batches were complete (docs/storage.md), is synced. A summary is written after
    /// every batch's fsync but synced only then (and on close), on a thread of its own, so it costs no
    /// fsync on the acknowledgement path and the log writer never waits for it. Until it is synced,
    /// corruption of the newest batch would read as a torn write. Default 10 ms: long enough that
    /// closed-loop writers whose threads are slow to be scheduled again (a busy machine) do not look idle
    /// between two batches, where a ring sync beside the log's would slow the next fsync.
    /// </summary>
    public TimeSpan SummarySyncDelay { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The id of the machine's current boot, recorded in the superblock before the first write after opening.
    /// A newest batch whose write the disk acknowledged but never made (a lost write) reads back as zeros, like
    /// unused space, once a power loss dropped the page cache; only the page cache's loss tells it could be
    /// there. So a directory last written under another boot and not closed cleanly at its log's end opens
    /// with an uncertain tail (<see cref="DurableState.TailUncertain"/>; docs/storage.md). Null or empty
    /// where the system has no boot id: then the tail is uncertain only when the log runs past what the
    /// durable batch summaries vouch for. Default: Linux's <c>/proc/sys/kernel/random/boot_id</c>, else null.
    /// Tests set it to play a reboot.
    /// </summary>
    public Guid? BootId { get; init; } = MachineBoot.Id;
}
