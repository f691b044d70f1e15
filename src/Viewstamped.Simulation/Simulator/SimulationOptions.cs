namespace Viewstamped.Simulation;

/// <summary>
/// Everything that defines one simulated run. With the same options (seed included) and the same
/// build, a run is the same, event for event. Settings left null are drawn from the seed.
/// </summary>
public sealed record SimulationOptions
{
    /// <summary>The seed every random choice of the run derives from.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The number of replicas (2f+1 tolerates f failures). Default 3.</summary>
    public int Replicas { get; init; } = 3;

    /// <summary>The number of concurrent clients. Default 4.</summary>
    public int Clients { get; init; } = 4;

    /// <summary>The operations each client submits. Default 100.</summary>
    public int RequestsPerClient { get; init; } = 100;

    /// <summary>
    /// The number of keys of the key-value workload; null: 4, or one per four clients when that is
    /// more, so that a key sees a handful of concurrent clients and its history stays quick to check.
    /// </summary>
    public int? Keys { get; init; }

    /// <summary>The number of keys in force: <see cref="Keys"/> or the default computed from the clients.</summary>
    public int EffectiveKeys => Keys ?? Math.Clamp((Clients + 3) / 4, 4, Workload.KeyValueService.KeysMax);

    /// <summary>The share of operations that go to the Adder. Default 0.1.</summary>
    public double AddShare { get; init; } = 0.1;

    /// <summary>The most ticks a client thinks between operations; null draws it from the seed (0 to 3).</summary>
    public int? ThinkTicksMax { get; init; }

    /// <summary>Which faults to inject; the intensities are drawn from the seed. Default: swarm.</summary>
    public FaultProfile Faults { get; init; } = FaultProfile.Swarm;

    /// <summary>An explicit fault mix; when set it replaces the one drawn for <see cref="Faults"/>.</summary>
    public FaultMix? FaultMix { get; init; }

    /// <summary>Message loss probability; when set it overrides the fault mix's.</summary>
    public double? Drop { get; init; }

    /// <summary>
    /// Simulated disks may lose their newest synced batch whole at a power loss (<see cref="DiskFaults.LostNewestBatches"/>).
    /// Null (the default): wherever a fault profile draws disk faults, but not with a <see cref="FaultMix"/> given whole;
    /// false: never, as runs were before lost writes were modelled; true: also with a given mix that uses disks.
    /// </summary>
    public bool? LostWrites { get; init; }

    /// <summary>Ticks between the primary's heartbeats. Default 10.</summary>
    public int HeartbeatTicks { get; init; } = 10;

    /// <summary>Ticks without the primary before a backup proposes a view change. Default 50.</summary>
    public int ViewChangeTimeoutTicks { get; init; } = 50;

    /// <summary>Ticks between resends of the replicas' retried messages. Default 20.</summary>
    public int RetryTicks { get; init; } = 20;

    /// <summary>Ticks a client waits before re-sending a request to every replica. Default 60.</summary>
    public int ClientTimeoutTicks { get; init; } = 60;

    /// <summary>Take a checkpoint every this many ops (0: never); null draws it from the seed.</summary>
    public ulong? CheckpointInterval { get; init; }

    /// <summary>Entries kept before a checkpoint; null draws it from the seed (below four checkpoint intervals).</summary>
    public ulong? LogSuffix { get; init; }

    /// <summary>
    /// At most this many bytes of entries kept before a checkpoint (see
    /// <see cref="ReplicaOptions.LogSuffixBytesMax"/>; 0: entries only); null draws it from the seed, from a
    /// stream of its own: the core's default (never reached in a run), off, or a few entries' worth.
    /// </summary>
    public long? LogSuffixBytesMax { get; init; }

    /// <summary>
    /// Take a checkpoint also once this many bytes of entries were executed since the last one (see
    /// <see cref="ReplicaOptions.CheckpointBytesInterval"/>; 0: by op count only); null draws it from the
    /// seed: off, every few entries, every couple of dozen, or the core's default (never reached in a run).
    /// </summary>
    public long? CheckpointBytesInterval { get; init; }

    /// <summary>
    /// Bytes of committed entries a view change's log may carry (see
    /// <see cref="ReplicaOptions.ViewChangeCommittedBytesMax"/>); null draws it from the seed: none, a
    /// couple of entries, a few dozen, or the core's default (every entry of a simulated run).
    /// </summary>
    public long? ViewChangeCommittedBytesMax { get; init; }

    /// <summary>
    /// The most ticks a checkpoint takes to be written beside a replica's loop (each one draws its own
    /// from 0 to this); null draws it from the seed (0, 4, 40 or 400), from a stream of its own.
    /// </summary>
    public int? CheckpointWriteTicksMax { get; init; }

    /// <summary>The planted bug to run with. Default none.</summary>
    public PlantedMutation Mutation { get; init; }

    /// <summary>
    /// The most ticks faults are injected for; then the faults heal and the workload must finish.
    /// Null: 20,000 or 60 per request of a client, whichever is more.
    /// </summary>
    public int? FaultTicksMax { get; init; }

    /// <summary>The fault phase's limit in force: <see cref="FaultTicksMax"/> or the default computed from the workload.</summary>
    public int EffectiveFaultTicksMax => FaultTicksMax ?? Math.Max(20_000, 60 * RequestsPerClient);

    /// <summary>
    /// Once faults heal, every request in flight (and every later one) must complete within this many
    /// ticks, else the run fails for liveness; null computes a bound from the timeouts
    /// (<see cref="EffectiveLivenessTicks"/>) and the network's delays.
    /// </summary>
    public int? LivenessTicks { get; init; }

    /// <summary>Check the client history for linearizability at the end of the run. Default true.</summary>
    public bool CheckLinearizability { get; init; } = true;

    /// <summary>
    /// The most search steps the linearizability checker may take before answering unknown (which is
    /// reported, not a failure). Default 8 million: a few seconds, and a few gigabytes at worst.
    /// </summary>
    public long LinearizabilityStepsMax { get; init; } = 8_000_000;

    /// <summary>
    /// The most messages the network may hold at once; more is a message storm (a liveness failure,
    /// and the guard that keeps a runaway run from exhausting memory). Default 250,000.
    /// </summary>
    public int MessagesInFlightMax { get; init; } = 250_000;

    /// <summary>Where trace lines go (one per replica state transition and per fault); null for none.</summary>
    public TextWriter? Trace { get; init; }

    /// <summary>
    /// <see cref="LivenessTicks"/>, or a bound computed from the timeouts: twelve view changes with a
    /// retry each and four client timeouts. A run adds 40 of its slowest path's delay to the computed bound.
    /// </summary>
    public int EffectiveLivenessTicks =>
        LivenessTicks ?? (12 * ((2 * ViewChangeTimeoutTicks) + RetryTicks)) + (4 * ClientTimeoutTicks);

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message when the options cannot work.</summary>
    public SimulationOptions Validate()
    {
        Require(Replicas is >= 1 and <= 16, $"replicas must be 1 to 16, not {Replicas}");
        Require(Clients is >= 1 and <= 1000, $"clients must be 1 to 1000, not {Clients}");
        Require(RequestsPerClient >= 0, $"requests per client must not be negative, not {RequestsPerClient}");
        Require(Keys is null or (>= 1 and <= Workload.KeyValueService.KeysMax), $"keys must be 1 to {Workload.KeyValueService.KeysMax}, not {Keys}");
        Require(AddShare is >= 0 and <= 1, $"the add share must be between 0 and 1, not {AddShare}");
        Require(Drop is null or (>= 0 and < 1), $"the drop rate must be at least 0 and below 1, not {Drop}");
        Require(HeartbeatTicks >= 1, $"heartbeat ticks must be at least 1, not {HeartbeatTicks}");
        Require(ViewChangeTimeoutTicks > 2 * HeartbeatTicks, $"the view change timeout ({ViewChangeTimeoutTicks} ticks) must exceed two heartbeats ({2 * HeartbeatTicks} ticks)");
        Require(RetryTicks >= 1, $"retry ticks must be at least 1, not {RetryTicks}");
        Require(ClientTimeoutTicks >= 1, $"client timeout ticks must be at least 1, not {ClientTimeoutTicks}");
        Require(CheckpointInterval is null || LogSuffix is null || CheckpointInterval == 0 || LogSuffix < CheckpointInterval * 4,
            $"the log suffix ({LogSuffix}) must be smaller than four checkpoint intervals ({CheckpointInterval * 4})");
        Require(LogSuffixBytesMax is null or >= 0, $"the log suffix bytes must not be negative, not {LogSuffixBytesMax}");
        Require(CheckpointBytesInterval is null or >= 0, $"the checkpoint bytes interval must not be negative, not {CheckpointBytesInterval}");
        Require(ViewChangeCommittedBytesMax is null or >= 0, $"the view change's committed bytes must not be negative, not {ViewChangeCommittedBytesMax}");
        Require(FaultTicksMax is null or >= 0, $"fault ticks must not be negative, not {FaultTicksMax}");
        Require(LivenessTicks is null or >= 1, $"liveness ticks must be at least 1, not {LivenessTicks}");
        Require(MessagesInFlightMax >= 1, $"the message limit must be at least 1, not {MessagesInFlightMax}");
        Require(ThinkTicksMax is null or >= 0, $"think ticks must not be negative, not {ThinkTicksMax}");
        return this;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
