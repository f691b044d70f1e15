using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>What must survive a crash: the views the replica promised, and its commit number (D1).</summary>
public readonly record struct HardState(View View, View LogView, OpNumber CommitNumber)
{
    /// <summary>
    /// True while the replica's log is known to lack entries it may have acknowledged (storage found
    /// them corrupt or missing) and it has neither fetched those entries back from its peers nor installed
    /// a log from a peer. It is durable so that a
    /// replica that crashes again before its repair finished still knows, even though storage cut the
    /// damage off and will not find it again: such a replica must not vote in a view change.
    /// </summary>
    public bool LogDamaged { get; init; }

    /// <summary>
    /// True while the replica's log may lack a newest batch it acknowledged: storage cut a damaged or
    /// torn tail that nothing durable vouched for (<see cref="DurableState.TailUncertain"/>), and the
    /// replica has not installed a log from a peer since. It is durable because the cut makes the next
    /// load look clean. Such a replica still votes in a view change, but says its log is uncertain past
    /// its head.
    /// </summary>
    public bool TailUncertain { get; init; }
}

/// <summary>A checkpoint of the service and the client table at <see cref="Op"/> (§5.1).</summary>
public sealed class Checkpoint
{
    private volatile CheckpointState state;

    /// <summary>A checkpoint at <paramref name="op"/> whose state's XxHash64 is <paramref name="checksum"/>.</summary>
    public Checkpoint(OpNumber op, CheckpointState state, ulong checksum)
    {
        ArgumentNullException.ThrowIfNull(state);
        Op = op;
        this.state = state;
        Checksum = checksum;
    }

    /// <summary>A checkpoint whose state is <paramref name="state"/>, which must not change afterwards.</summary>
    public Checkpoint(OpNumber op, byte[] state, ulong checksum)
        : this(op, CheckpointState.FromBytes(state), checksum)
    {
    }

    /// <summary>The op the checkpoint was taken after.</summary>
    public OpNumber Op { get; }

    /// <summary>The client table and the service's state.</summary>
    public CheckpointState State => state;

    /// <summary>The XxHash64 of <see cref="State"/>.</summary>
    public ulong Checksum { get; }

    /// <summary>
    /// Storage that has made the state durable hands back a state with the same bytes that reads
    /// them from where it keeps them, so the copy in memory can go. Safe to call from the storage's
    /// thread while the replica reads: a reader sees one state or the other, and both hold the same bytes.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public void ReplaceState(CheckpointState durable)
    {
        ArgumentNullException.ThrowIfNull(durable);
        if (durable.Length != state.Length)
        {
            throw new ArgumentException($"the durable state has {durable.Length} bytes, the checkpoint {state.Length}", nameof(durable));
        }

        state = durable;
    }
}

/// <summary>How a <see cref="LogChange"/> changes the durable log.</summary>
public enum LogChangeKind : byte
{
    /// <summary>Append <see cref="LogChange.Entry"/> right after the current head.</summary>
    Append = 1,

    /// <summary>Drop every entry after <see cref="LogChange.Op"/>.</summary>
    TruncateAfter = 2,

    /// <summary>Drop every entry: the log is now empty and ends at <see cref="LogChange.Op"/>.</summary>
    Reset = 3,
}

/// <summary>One change to the durable log; a Ready's changes apply in order.</summary>
public readonly record struct LogChange(LogChangeKind Kind, OpNumber Op, LogEntry? Entry);

/// <summary>A message for another replica.</summary>
public readonly record struct Envelope(ReplicaIndex To, Message Message);

/// <summary>
/// Everything a replica produced since the last <see cref="Replica.TakeReady"/>. The caller
/// handles it in this order, and that order is the durability contract:
/// <list type="number">
/// <item>persist <see cref="LogChanges"/>, <see cref="HardState"/> and <see cref="Checkpoint"/>, durably;</item>
/// <item>then drop log entries before <see cref="CompactBefore"/>;</item>
/// <item>only then send <see cref="Messages"/> and <see cref="Replies"/>, because a PrepareOk,
/// DoViewChange or StartView among them vouches for what step 1 persisted.</item>
/// </list>
/// Readies must be handled in the order they were taken. A caller that wants to spare the allocation
/// of a Ready per step may hand a completely handled one back with <see cref="Replica.Recycle"/>.
/// </summary>
public sealed class Ready
{
    /// <summary>True while the Ready waits in its replica's pool: it has been handed back and must not be touched.</summary>
    internal bool Recycled { get; set; }

    /// <summary>The hard state to persist, when it changed.</summary>
    public HardState? HardState { get; internal set; }

    /// <summary>Changes to the durable log, in order.</summary>
    public List<LogChange> LogChanges { get; } = [];

    /// <summary>A checkpoint to persist, when one was taken or installed.</summary>
    public Checkpoint? Checkpoint { get; internal set; }

    /// <summary>Log entries before this op may be dropped once the checkpoint is durable.</summary>
    public OpNumber? CompactBefore { get; internal set; }

    /// <summary>
    /// A checkpoint to write beside the loop (the service is an <see cref="ISnapshottingService"/>): call
    /// its <see cref="CheckpointSnapshot.Write"/> on any thread and hand the result back with
    /// <see cref="Replica.CheckpointWritten"/>. It is not part of the durability contract: nothing in this
    /// Ready depends on it, and the replica persists the checkpoint in a later Ready. Keep the reference
    /// before handing the Ready back with <see cref="Replica.Recycle"/>.
    /// </summary>
    public CheckpointSnapshot? Snapshot { get; internal set; }

    /// <summary>Messages to other replicas.</summary>
    public List<Envelope> Messages { get; } = [];

    /// <summary>Replies to clients, addressed by their client id.</summary>
    public List<Reply> Replies { get; } = [];

    /// <summary>Empties the Ready for reuse; its lists keep their capacity, up to <see cref="ReusedCapacityMax"/> each.</summary>
    internal void Clear()
    {
        HardState = null;
        Clear(LogChanges);
        Checkpoint = null;
        CompactBefore = null;
        Snapshot = null;
        Clear(Messages);
        Clear(Replies);
    }

    /// <summary>A list that held a whole log (a StartView, a state transfer) does not keep that much room while it waits for reuse.</summary>
    private const int ReusedCapacityMax = 1024;

    private static void Clear<T>(List<T> list)
    {
        list.Clear();
        if (list.Capacity > ReusedCapacityMax)
        {
            list.Capacity = ReusedCapacityMax;
        }
    }

    /// <summary>True when there is nothing to persist or send.</summary>
    public bool IsEmpty =>
        HardState is null && LogChanges.Count == 0 && Checkpoint is null && CompactBefore is null
        && Snapshot is null && Messages.Count == 0 && Replies.Count == 0;
}

/// <summary>What a replica finds on its disk when it starts: its hard state, latest checkpoint and log.</summary>
/// <param name="HardState">The persisted views and commit number.</param>
/// <param name="Checkpoint">The latest durable checkpoint, if any.</param>
/// <param name="Entries">Consecutive log entries retained after compaction.</param>
/// <param name="LogHead">The op the log ends at (equal to the last entry's op, or where the log was reset).</param>
public sealed record DurableState(HardState HardState, Checkpoint? Checkpoint, IReadOnlyList<LogEntry> Entries, OpNumber LogHead)
{
    /// <summary>
    /// True when storage found entries it had made durable corrupt or missing, so <see cref="Entries"/>
    /// may end before ops this replica acknowledged. Such a replica must not vote in a view change
    /// until it has taken a log from a peer (protocol-aware repair): a truncated log must never
    /// decide what was committed.
    /// </summary>
    public bool LogDamaged { get; init; }

    /// <summary>
    /// With <see cref="LogDamaged"/>: the rest of the log as storage read it past the damage, for the ops
    /// right after <see cref="LogHead"/>, each the intact entry or null where the entry was lost (its record
    /// was found, its contents failed their checksum). Storage reports it only when it could place every
    /// record after the damage, so that this is exactly the log it had made durable; it no longer holds
    /// these entries itself (the replica writes them again once repaired). Empty otherwise. The replica
    /// fetches each lost entry from a peer by the checksum its successor names, and takes the safe path
    /// (its whole log after its checkpoint from peers) when that is not possible.
    /// </summary>
    public IReadOnlyList<LogEntry?> DamagedSuffix { get; init; } = [];

    /// <summary>
    /// True when the log ended in a damaged or torn region after its last intact entry that nothing
    /// durable vouched for (no batch summary, no superblock), or when the hard state says such a cut is
    /// still unresolved. Most often that is a write torn by a power cut, never acknowledged; but it may
    /// also be the newest batch, acknowledged before its summary was durable, rotted since. The two look
    /// the same, so the replica may vote with this log but must say that it is uncertain past its head
    /// (docs/storage.md, "the batch ring"; docs/protocol.md, "Uncertain tails").
    /// </summary>
    public bool TailUncertain { get; init; }
}
