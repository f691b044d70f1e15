namespace Viewstamped;

/// <summary>
/// Everything a replica needs to know about its cluster and its limits. Every limit of the core
/// lives here, with its default and the reason for it; <see cref="Validate"/> checks the
/// relationships between them and refuses a configuration that cannot work.
/// </summary>
public sealed record ReplicaOptions
{
    /// <summary>The cluster's id; messages of any other cluster are ignored.</summary>
    public required UInt128 Cluster { get; init; }

    /// <summary>The number of replicas K; the cluster tolerates f failures with 2f+1 &lt;= K.</summary>
    public required int ReplicaCount { get; init; }

    /// <summary>This replica's index, 0 to <see cref="ReplicaCount"/>-1.</summary>
    public required ReplicaIndex Replica { get; init; }

    /// <summary>
    /// Seeds this replica's timeout jitter and nonces. Give every incarnation (every start or
    /// restart) a different seed, so a restarted replica never reuses a recovery nonce.
    /// </summary>
    public required ulong Seed { get; init; }

    /// <summary>The configuration epoch; 0 until reconfiguration exists.</summary>
    public uint Epoch { get; init; }

    /// <summary>Ticks between the primary's Commit heartbeats when no Prepare went out. Default 10.</summary>
    public int HeartbeatTicks { get; init; } = 10;

    /// <summary>
    /// Ticks a backup waits without hearing from the primary before it proposes a view change; a
    /// random jitter of up to the same amount is added from <see cref="Seed"/> so that replicas do not
    /// all propose at once. Default 50: five missed heartbeats.
    /// </summary>
    public int ViewChangeTimeoutTicks { get; init; } = 50;

    /// <summary>Ticks between resends of Prepare, view-change, recovery and state-transfer messages. Default 20.</summary>
    public int RetryTicks { get; init; } = 20;

    /// <summary>Take a checkpoint every this many committed ops; 0 disables checkpoints. Default 1024.</summary>
    public ulong CheckpointInterval { get; init; } = 1024;

    /// <summary>
    /// Take a checkpoint also once the log entries executed since the last one reach this many bytes
    /// (each entry counts its operation, its prediction and 64 bytes for the rest); 0 counts ops
    /// only. The log between checkpoints is held in memory, and with large entries (a batch of pipelined
    /// commands per op) <see cref="CheckpointInterval"/> ops alone could be hundreds of megabytes. The
    /// count depends only on the log executed since the last checkpoint, so replicas that took the same
    /// checkpoints agree on the next one; they need not agree for safety (a checkpoint is fetched from a
    /// peer by its op, and compaction is each replica's own). Ignored when <see cref="CheckpointInterval"/>
    /// is 0. Default 32 MiB: about 600 entries of 56 KiB, while a thousand small ones stay far below it.
    /// </summary>
    public long CheckpointBytesInterval { get; init; } = 32 << 20;

    /// <summary>Entries kept before the latest checkpoint when compacting, so a briefly lagging replica catches up from the log. Default 256.</summary>
    public ulong LogSuffix { get; init; } = 256;

    /// <summary>
    /// At most this many bytes of entries (counted as for <see cref="CheckpointBytesInterval"/>) are kept
    /// before the latest checkpoint, whatever <see cref="LogSuffix"/> allows; 0 counts entries only. The
    /// suffix is held in memory, and 256 entries of 56 KiB (batches of pipelined commands) would be
    /// 14 MiB; a replica lagging further catches up by state transfer. Compaction is each replica's own,
    /// so replicas need not agree on it. Default 4 MiB: the whole suffix while entries stay under 16 KiB.
    /// </summary>
    public long LogSuffixBytesMax { get; init; } = 4 << 20;

    /// <summary>At most this many prepared but uncommitted ops at the primary; beyond it requests get <c>Busy</c>. Default 256.</summary>
    public int PipelineMax { get; init; } = 256;

    /// <summary>The client table's capacity; registering one more session evicts the least recently active. Default 4096.</summary>
    public int ClientsMax { get; init; } = 4096;

    /// <summary>The largest operation a request may carry, in bytes. Default 1 MiB.</summary>
    public int RequestSizeMax { get; init; } = 1 << 20;

    /// <summary>The largest message, in bytes; the wire codec must be given the same limit. Default 16 MiB.</summary>
    public int MessageSizeMax { get; init; } = 16 << 20;

    /// <summary>
    /// At most this many bytes of operations prepared but uncommitted at the primary; beyond it requests
    /// get <c>Busy</c>. Every uncommitted op must fit in one DoViewChange, hence the bound. Default 4 MiB.
    /// </summary>
    public long PipelineBytesMax { get; init; } = 4 << 20;

    /// <summary>
    /// At most this many bytes of committed entries a DoViewChange, StartView or primary's
    /// RecoveryResponse carries besides every entry after the sender's commit number (which it
    /// always carries, however large: the receiver treats everything before the first entry as
    /// committed). The committed ones spare a receiver whose commit number lags the sender's a round
    /// of state transfer; a receiver whose own entries chain into the log it is sent keeps them and
    /// needs none, and one whose log does not reach keeps it and fetches the committed ops in between
    /// into it before installing the log, so any budget is safe, 0 included. Never more than
    /// <see cref="MessageSizeMax"/>/4 is sent, whatever this says, so that with every uncommitted op
    /// (at most another quarter, see <see cref="PipelineBytesMax"/>) the log fits in half a message.
    /// <para>Default 256 KiB. Every view change sends a DoViewChange from each replica and a StartView to
    /// each backup, so in a group of three the committed part moves about four times over: at 256 KiB
    /// about 1 MiB in all, against 16 MiB at the earlier 4 MiB budget with large entries (a pipelined
    /// batch per op), each message encoded, checksummed and held as one buffer while the cluster is
    /// unavailable. 256 KiB is still a thousand small entries (a 100-byte SET is about 250 bytes), more
    /// than a backup that was merely slow lags by, so only a replica that was down or cut off pays a
    /// round of state transfer, which it would need for anything older anyway.</para>
    /// </summary>
    public long ViewChangeCommittedBytesMax { get; init; } = 256 << 10;

    /// <summary>At most this many entries in one Prepare or NewState. Default 64.</summary>
    public int EntriesPerMessageMax { get; init; } = 64;

    /// <summary>The size of one checkpoint chunk in state transfer, in bytes. Default 64 KiB.</summary>
    public int CheckpointChunkSize { get; init; } = 64 * 1024;

    /// <summary>The largest checkpoint accepted in state transfer, in bytes. Default 1 GiB.</summary>
    public long CheckpointSizeMax { get; init; } = 1L << 30;

    /// <summary>Planted bugs for checker tests; never set outside them.</summary>
    internal Mutation Mutation { get; init; }

    /// <summary>The largest number of failures tolerated: the largest f with 2f+1 &lt;= K.</summary>
    public int F => (ReplicaCount - 1) / 2;

    /// <summary>The number of replicas whose agreement makes a quorum: K - f.</summary>
    public int Quorum => ReplicaCount - F;

    /// <summary>Throws <see cref="ArgumentException"/> with a clear message when the options cannot work.</summary>
    public ReplicaOptions Validate()
    {
        Require(ReplicaCount is >= 1 and <= 64, $"ReplicaCount must be 1 to 64, not {ReplicaCount}");
        Require(Replica.Value < ReplicaCount, $"Replica index {Replica.Value} is outside 0..{ReplicaCount - 1}");
        Require(HeartbeatTicks >= 1, "HeartbeatTicks must be at least 1");
        Require(ViewChangeTimeoutTicks > 2 * HeartbeatTicks, "ViewChangeTimeoutTicks must exceed two heartbeats, or a healthy primary is suspected");
        Require(RetryTicks >= 1, "RetryTicks must be at least 1");
        Require(CheckpointInterval == 0 || LogSuffix < CheckpointInterval * 4, "LogSuffix must be smaller than four checkpoint intervals");
        Require(LogSuffixBytesMax >= 0, $"LogSuffixBytesMax must not be negative (0 counts entries only), not {LogSuffixBytesMax}");
        Require(CheckpointBytesInterval >= 0, $"CheckpointBytesInterval must not be negative (0 counts ops only), not {CheckpointBytesInterval}");
        Require(PipelineMax >= 1, "PipelineMax must be at least 1");
        Require(ClientsMax >= 1, "ClientsMax must be at least 1");
        Require(RequestSizeMax >= 1, "RequestSizeMax must be at least 1");
        Require(RequestSizeMax + 1024L <= MessageSizeMax / 4, "RequestSizeMax must leave room for a few entries in a message: at most MessageSizeMax/4 - 1 KiB");
        Require(PipelineBytesMax >= RequestSizeMax, "PipelineBytesMax must hold at least one request");
        Require(PipelineBytesMax * 2 <= MessageSizeMax / 2, "PipelineBytesMax must be at most MessageSizeMax/8, so every uncommitted op (at a backup, up to two pipelines) fits in a DoViewChange");
        Require(ViewChangeCommittedBytesMax >= 0, $"ViewChangeCommittedBytesMax must not be negative, not {ViewChangeCommittedBytesMax}");
        Require(EntriesPerMessageMax >= 1, "EntriesPerMessageMax must be at least 1");
        Require(CheckpointChunkSize >= 1024, "CheckpointChunkSize must be at least 1 KiB");
        return this;
    }

    /// <summary>The primary of <paramref name="view"/>: replicas take turns (§4).</summary>
    public ReplicaIndex PrimaryOf(View view) => new((byte)(view.Value % (ulong)ReplicaCount));

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message);
        }
    }
}
