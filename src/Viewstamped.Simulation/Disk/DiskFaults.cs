namespace Viewstamped.Simulation;

/// <summary>
/// The faults a <see cref="SimulatedDisk"/> injects, all drawn from its seeded <see cref="Prng"/>.
/// The defaults only hurt what was never acknowledged (unsynced writes) or what the disk can repair
/// on its own (transient read errors, one misdirected superblock copy). Latent corruption
/// (<see cref="LatentCorruptionsMax"/>, off by default) destroys acknowledged data, which the core
/// repairs from its peers; the simulator's cluster injects it itself and keeps at most f disks damaged
/// at a time, so an intact copy of every committed op exists.
/// </summary>
public sealed record DiskFaults
{
    /// <summary>A disk that never fails: every write lands, every read is clean.</summary>
    public static DiskFaults None { get; } = new()
    {
        LostWriteProbability = 0,
        TornWriteProbability = 0,
        ReadFlipProbability = 0,
        MisdirectedSuperblockWriteProbability = 0,
    };

    /// <summary>At <see cref="SimulatedDisk.Crash"/>, the probability that each unsynced write is lost (independently, so survivors may be out of order).</summary>
    public double LostWriteProbability { get; init; } = 0.5;

    /// <summary>At <see cref="SimulatedDisk.Crash"/>, the probability that an unsynced write that survived is torn (only part of it landed).</summary>
    public double TornWriteProbability { get; init; } = 0.3;

    /// <summary>The probability that a block read while loading comes back with one bit flipped (transient: a re-read is clean unless it flips too).</summary>
    public double ReadFlipProbability { get; init; } = 0.001;

    /// <summary>The probability that a superblock copy write lands in another copy's slot instead of its own (at most one per update).</summary>
    public double MisdirectedSuperblockWriteProbability { get; init; } = 0.02;

    /// <summary>
    /// Per sync, the probability of flipping one bit of one durable log block for good (latent sector
    /// error). The simulator's cluster draws it; a disk on its own injects only through <see cref="SimulatedDisk.InjectLatentCorruption"/>.
    /// </summary>
    public double LatentCorruptionProbability { get; init; }

    /// <summary>How many latent corruptions the cluster may inject into one disk over its life; 0 (the default) disables them.</summary>
    public int LatentCorruptionsMax { get; init; }

    /// <summary>
    /// Lost writes (off by default): the simulator's cluster may drop a disk's newest synced batch whole at a power
    /// loss (<see cref="SimulatedDisk.LoseNewestBatch"/>), with <see cref="LatentCorruptionProbability"/> times 10,
    /// within the latent-corruption budget, and half the crashes of single replicas are crashes of the process
    /// alone, which keep the page cache. The disk then does what the file storage does after a reboot: a load after
    /// a power loss since the log was last written reports an uncertain tail unless the log was closed cleanly at its
    /// end. Off, the disk never loses a synced batch, so it has nothing to doubt and reports no such tail.
    /// </summary>
    public bool LostNewestBatches { get; init; }

    /// <summary>The most ticks a sync takes (<see cref="SimulatedDisk.LastSyncTicks"/>); 0 means no latency is modelled.</summary>
    public int SyncLatencyTicksMax { get; init; }
}

/// <summary>What a <see cref="SimulatedDisk"/> has done and found, for tests and run summaries.</summary>
public sealed record DiskStatistics
{
    /// <summary>Syncs (each makes every buffered write durable).</summary>
    public long Syncs { get; init; }

    /// <summary>Crashes.</summary>
    public long Crashes { get; init; }

    /// <summary>Unsynced writes a crash lost.</summary>
    public long LostWrites { get; init; }

    /// <summary>Unsynced writes a crash tore.</summary>
    public long TornWrites { get; init; }

    /// <summary>Reads that came back flipped and were read again.</summary>
    public long ReadRetries { get; init; }

    /// <summary>Superblock copy writes that landed in the wrong slot.</summary>
    public long MisdirectedWrites { get; init; }

    /// <summary>Latent corruptions injected.</summary>
    public long LatentCorruptions { get; init; }

    /// <summary>Times the log was rewritten to reclaim compacted entries.</summary>
    public long Compactions { get; init; }

    /// <summary>
    /// Loads that cut a newest batch which had been synced (and perhaps acknowledged) and then rotted before
    /// its summary was durable: it read as a torn write, and the load reported an uncertain tail.
    /// </summary>
    public long RottenTailsCut { get; init; }

    /// <summary>Newest synced batches lost whole at a power loss (<see cref="SimulatedDisk.LoseNewestBatch"/>): lost writes.</summary>
    public long LostNewestBatches { get; init; }
}

/// <summary>What the last <see cref="SimulatedDisk.Load"/> found wrong (empty after a clean load).</summary>
public sealed record DiskHealth
{
    /// <summary>Superblock copies that were valid and current.</summary>
    public int SuperblockCopiesValid { get; init; } = 4;

    /// <summary>True when acknowledged data was found damaged: log records (the log was cut before them) or a checkpoint (<see cref="CorruptCheckpoints"/>).</summary>
    public bool LogCorrupt { get; init; }

    /// <summary>The sequence number of the first damaged record, when log records were damaged.</summary>
    public ulong? CorruptAtSeq { get; init; }

    /// <summary>Ops of checkpoints that failed their checksum: the replica restarted without a checkpoint or a log, as damaged.</summary>
    public IReadOnlyList<OpNumber> CorruptCheckpoints { get; init; } = [];

    /// <summary>Ops of intact entries found after the damage, set aside for a repair and not returned.</summary>
    public IReadOnlyList<OpNumber> EntriesAfterCorruption { get; init; } = [];

    /// <summary>Unacknowledged records of a torn last batch that were dropped.</summary>
    public int TornRecords { get; init; }

    /// <summary>Every problem, as a sentence.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}
