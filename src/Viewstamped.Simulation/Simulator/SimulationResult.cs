using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation;

/// <summary>How a run failed.</summary>
public enum FailureKind
{
    /// <summary>Every check passed.</summary>
    None,

    /// <summary>A safety check failed: a cluster invariant, a replica's own invariant, or linearizability.</summary>
    Correctness,

    /// <summary>After the faults healed, a client's request did not complete in time.</summary>
    Liveness,

    /// <summary>An unexpected exception: a bug in the code, not a property violation.</summary>
    Crash,
}

/// <summary>What one simulated run did and found.</summary>
public sealed record SimulationResult
{
    /// <summary>The seed of the run.</summary>
    public required ulong Seed { get; init; }

    /// <summary>How the run failed, or <see cref="FailureKind.None"/>.</summary>
    public required FailureKind Failure { get; init; }

    /// <summary>What failed, with the tick; null when the run passed.</summary>
    public string? Message { get; init; }

    /// <summary>True when the run passed every check.</summary>
    public bool Passed => Failure == FailureKind.None;

    /// <summary>The highest op committed by the cluster (session registrations included).</summary>
    public long OpsCommitted { get; init; }

    /// <summary>Client operations invoked.</summary>
    public int RequestsInvoked { get; init; }

    /// <summary>Client operations that completed with a known outcome.</summary>
    public int RequestsCompleted { get; init; }

    /// <summary>Client operations whose outcome stayed unknown (crashed clients).</summary>
    public int RequestsUnknown { get; init; }

    /// <summary>
    /// The linearizability verdict on the client history (key-value and Adder operations); unknown when
    /// the checker ran out of budget or did not run (the run failed before, or checking was off).
    /// </summary>
    public Verdict Linearizability { get; init; } = Verdict.Unknown;

    /// <summary>View changes: views started after view 0.</summary>
    public int ViewChanges { get; init; }

    /// <summary>Replica crashes injected.</summary>
    public int Crashes { get; init; }

    /// <summary>Client crashes injected.</summary>
    public int ClientCrashes { get; init; }

    /// <summary>Partitions injected.</summary>
    public int Partitions { get; init; }

    /// <summary>Whole-cluster power losses injected.</summary>
    public int PowerLosses { get; init; }

    /// <summary>Acknowledged log blocks the simulated disks corrupted at rest (latent corruption), over all replicas.</summary>
    public long LatentCorruptions { get; init; }

    /// <summary>Log entries replicas repaired one by one from their peers after latent corruption.</summary>
    public long EntriesRepaired { get; init; }

    /// <summary>Rotten newest batches, synced but not yet summarized, that a load after a crash cut as torn (an uncertain tail), over all replicas.</summary>
    public long RottenTailsCut { get; init; }

    /// <summary>Newest synced batches the simulated disks lost whole at a power loss (lost writes), over all replicas.</summary>
    public long LostNewestBatches { get; init; }

    /// <summary>Simulated ticks run.</summary>
    public ulong Ticks { get; init; }

    /// <summary>The tick at which faults healed (the start of the liveness phase).</summary>
    public ulong HealedAt { get; init; }

    /// <summary>The longest a request waited after the faults healed, in ticks.</summary>
    public ulong LongestWaitAfterHeal { get; init; }

    /// <summary>How long the replicas took to converge once the workload finished, in ticks.</summary>
    public ulong ConvergenceTicks { get; init; }

    /// <summary>Messages sent on the simulated network.</summary>
    public long MessagesSent { get; init; }

    /// <summary>Messages the network lost.</summary>
    public long MessagesDropped { get; init; }

    /// <summary>The fault mix the run used.</summary>
    public required FaultMix Faults { get; init; }

    /// <summary>The checkpoint interval the run used.</summary>
    public ulong CheckpointInterval { get; init; }

    /// <summary>The log suffix the run used.</summary>
    public ulong LogSuffix { get; init; }

    /// <summary>The bytes of executed entries after which the run's replicas took a checkpoint (0: by op count only).</summary>
    public long CheckpointBytesInterval { get; init; }

    /// <summary>The bytes of committed entries the run's view-change logs carried.</summary>
    public long ViewChangeCommittedBytesMax { get; init; }

    /// <summary>
    /// A hash of every replica state transition and every client event, in order: two runs with the
    /// same options and build have the same fingerprint.
    /// </summary>
    public ulong Fingerprint { get; init; }
}
