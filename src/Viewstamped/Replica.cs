using System.Diagnostics;
using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>The status of a replica (§4).</summary>
public enum ReplicaStatus : byte
{
    /// <summary>Serving in its view: the primary prepares, backups acknowledge.</summary>
    Normal = 1,

    /// <summary>Taking part in a view change to <see cref="Replica.View"/>.</summary>
    ViewChange = 2,

    /// <summary>Restarted and waiting for the Recovery protocol to finish (§4.3).</summary>
    Recovering = 3,
}

/// <summary>
/// One replica of the Viewstamped Replication protocol: a pure, deterministic state machine.
/// Feed it messages with <see cref="Step"/> and logical time with <see cref="Tick"/>; collect what
/// it wants persisted and sent with <see cref="TakeReady"/>, and honour the durability contract
/// documented on <see cref="Ready"/>. It executes committed operations on the
/// <see cref="IService"/> it was given, synchronously, inside <see cref="Step"/> and <see cref="Tick"/>.
/// It does no IO, reads no clock and draws randomness only from its seed.
/// </summary>
[DebuggerDisplay("r{Index.Value} {Status} v{View.Value} op{Op.Value} commit{CommitNumber.Value}")]
public sealed partial class Replica
{
    private readonly ReplicaOptions options;
    private readonly IService service;
    private readonly Prng prng;
    private readonly ReplicaLog log;
    private readonly ClientTable clients;
    private readonly ICheckpointSink? checkpointSink;
    private Ready ready = new();

    /// <summary>Readies handed back with <see cref="Recycle"/>, for later takes; at most <see cref="ReadySparesMax"/>.</summary>
    private readonly Stack<Ready> spareReadies = new();
    private ulong now;
    private bool hardStateDirty;
    private LogEntry? checksummedEntry;
    private ulong checksummedValue;

    /// <summary>
    /// Creates a replica. Without <paramref name="durable"/> it is a new member of a new cluster,
    /// normal in view 0. With it, the replica restarts from its disk: it restores its checkpoint,
    /// re-executes its committed log and then runs the Recovery protocol (§4.3) before serving.
    /// With <paramref name="checkpointSink"/>, checkpoints (taken, or fetched from a peer) are written
    /// into its builders instead of into memory.
    /// </summary>
    public Replica(ReplicaOptions options, IService service, DurableState? durable = null, ICheckpointSink? checkpointSink = null)
    {
        this.options = options.Validate();
        this.service = service;
        this.checkpointSink = checkpointSink;
        prng = new Prng(options.Seed);
        clients = new ClientTable(options.ClientsMax);
        log = new ReplicaLog(OpNumber.Zero);
        ackedOps = new OpNumber[options.ReplicaCount];
        Status = ReplicaStatus.Normal;
        if (durable is not null)
        {
            Restart(durable);
        }

        ResetPrimaryTimeout();
        heartbeatDue = now + (ulong)options.HeartbeatTicks;
        AssertInvariants();
    }

    /// <summary>This replica's index.</summary>
    public ReplicaIndex Index => options.Replica;

    /// <summary>The options it runs with.</summary>
    public ReplicaOptions Options => options;

    /// <summary>Normal, view change or recovering.</summary>
    public ReplicaStatus Status { get; private set; }

    /// <summary>The current view (view-number of the paper); persisted before it is promised.</summary>
    public View View { get; private set; }

    /// <summary>The latest view in which this replica's status was normal: its log belongs to it.</summary>
    public View LogView { get; private set; }

    /// <summary>The last op in the log (op-number of the paper).</summary>
    public OpNumber Op => log.Head;

    /// <summary>The highest op known to be committed (commit-number of the paper).</summary>
    public OpNumber CommitNumber { get; private set; }

    /// <summary>The highest op executed by the service; it trails the commit number while entries are missing.</summary>
    public OpNumber ExecutedOp { get; private set; }

    /// <summary>The first op still in the log; everything before it is in a checkpoint.</summary>
    public OpNumber LogStart => log.Start;

    /// <summary>The op of the latest checkpoint (0 when none).</summary>
    public OpNumber CheckpointOp => latestCheckpoint?.Op ?? OpNumber.Zero;

    /// <summary>The op of the checkpoint handed out in a <see cref="Ready.Snapshot"/> and not yet written back (<see cref="CheckpointWritten"/>); null when none.</summary>
    public OpNumber? CheckpointInFlight => snapshotInFlight?.Op;

    /// <summary>The checksum of the latest checkpoint (0 when none).</summary>
    public ulong LatestCheckpointChecksum => latestCheckpoint?.Checksum ?? 0;

    /// <summary>True when this replica is the primary of its view.</summary>
    public bool IsPrimary => options.PrimaryOf(View) == Index;

    /// <summary>The client table, as of <see cref="ExecutedOp"/>.</summary>
    public ClientTable Clients => clients;

    /// <summary>Messages ignored because of their cluster, epoch, status or view; a counter for metrics.</summary>
    public long IgnoredMessages { get; private set; }

    /// <summary>The number of view changes this replica completed (entered normal status in a new view).</summary>
    public long ViewChangesCompleted { get; private set; }

    /// <summary>True when <see cref="TakeReady"/> would return something to persist or send.</summary>
    public bool HasReady => !ready.IsEmpty || hardStateDirty || HasUnsentPrepares;

    /// <summary>The retained log entry at <paramref name="op"/>, or null when it is not held.</summary>
    public LogEntry? EntryAt(OpNumber op) => log.Contains(op) ? log.Get(op) : null;

    /// <summary>Handles one message from a replica or a client.</summary>
    public void Step(Message message)
    {
        if (message.Header.Cluster != options.Cluster || message.Header.Epoch != options.Epoch)
        {
            IgnoredMessages++;
            return;
        }

        Dispatch(message);
        ExecuteCommitted();
        AssertInvariants();
    }

    /// <summary>Advances logical time by one tick: heartbeats, timeouts and resends happen here.</summary>
    public void Tick()
    {
        now++;
        if (IsRepairingEntries)
        {
            TickEntryRepair();
        }

        switch (Status)
        {
            case ReplicaStatus.Normal when IsPrimary:
                TickPrimary();
                break;
            case ReplicaStatus.Normal:
                TickBackup();
                break;
            case ReplicaStatus.ViewChange:
                TickViewChange();
                break;
            case ReplicaStatus.Recovering:
                TickRecovery();
                break;
        }

        TickStateTransfer();
        ExecuteCommitted();
        AssertInvariants();
    }

    /// <summary>Hands over everything produced since the last call; see <see cref="Ready"/> for the contract.</summary>
    public Ready TakeReady()
    {
        FlushPrepares();
        if (hardStateDirty)
        {
            ready.HardState = new HardState(View, LogView, CommitNumber) { LogDamaged = logDamaged, TailUncertain = tailUncertain };
            hardStateDirty = false;
        }

        var taken = ready;
        ready = spareReadies.TryPop(out var spare) ? spare : new Ready();
        ready.Recycled = false;
        return taken;
    }

    /// <summary>
    /// Hands back a Ready this replica's <see cref="TakeReady"/> returned, once the caller has
    /// completely handled it: persisted (including any persistence deferred past later Readies) and
    /// its messages and replies sent. The replica empties it and may return it from a later
    /// <see cref="TakeReady"/>, so the caller must not touch it again. Optional: a Ready never handed
    /// back is simply collected.
    /// </summary>
    /// <exception cref="InvalidOperationException">The Ready was already handed back, or is the one the replica is still filling.</exception>
    public void Recycle(Ready handled)
    {
        ArgumentNullException.ThrowIfNull(handled);
        if (handled.Recycled || ReferenceEquals(handled, ready))
        {
            throw new InvalidOperationException("a Ready can be handed back once, after TakeReady returned it");
        }

        handled.Recycled = true;
        if (spareReadies.Count < ReadySparesMax)
        {
            handled.Clear();
            spareReadies.Push(handled);
        }
    }

    /// <summary>
    /// How many handed-back readies a replica keeps: a runtime with several readies in flight (persisting
    /// while it steps) hands them back in bursts, and each kept one spares a Ready and its lists' growth.
    /// </summary>
    private const int ReadySparesMax = 8;

    private void Dispatch(Message message)
    {
        switch (message)
        {
            case Request request: OnRequest(request); break;
            case Prepare prepare: OnPrepare(prepare); break;
            case PrepareOk prepareOk: OnPrepareOk(prepareOk); break;
            case Commit commit: OnCommit(commit); break;
            case StartViewChange startViewChange: OnStartViewChange(startViewChange); break;
            case DoViewChange doViewChange: OnDoViewChange(doViewChange); break;
            case StartView startView: OnStartView(startView); break;
            case Recovery recovery: OnRecovery(recovery); break;
            case RecoveryResponse recoveryResponse: OnRecoveryResponse(recoveryResponse); break;
            case GetState getState: OnGetState(getState); break;
            case NewState newState: OnNewState(newState); break;
            case GetCheckpoint getCheckpoint: OnGetCheckpoint(getCheckpoint); break;
            case CheckpointChunk chunk: OnCheckpointChunk(chunk); break;
            case RequestEntry requestEntry: OnRequestEntry(requestEntry); break;
            case RepairEntry repairEntry: OnRepairEntry(repairEntry); break;
            default: Ignore(); break;
        }
    }

    private void Ignore() => IgnoredMessages++;

    private bool Mutated(Mutation mutation) => (options.Mutation & mutation) != 0;

    private MessageHeader Header() => new(options.Cluster, options.Epoch, View, Index);

    private void Send(ReplicaIndex to, Message message)
    {
        Invariant.That(to != Index, "a replica never sends to itself");
        ready.Messages.Add(new Envelope(to, message));
    }

    private void Broadcast(Message message)
    {
        for (var i = 0; i < options.ReplicaCount; i++)
        {
            if (i != Index.Value)
            {
                ready.Messages.Add(new Envelope(new ReplicaIndex((byte)i), message));
            }
        }
    }

    private void SendReply(ClientId client, ulong requestNumber, ReplyStatus status, OpNumber op, byte[] result) =>
        ready.Replies.Add(new Reply(client, requestNumber, status, op, result) { Header = Header() });

    /// <summary>Marks the hard state for persisting; every view or log-view change goes through here.</summary>
    private void PersistHardState() => hardStateDirty = true;

    /// <summary>
    /// The checksum of the retained entry at <paramref name="op"/>, 0 when it is not held. The last
    /// one computed is kept, since a primary asks for its head's once per new entry.
    /// </summary>
    private ulong ChecksumAt(OpNumber op)
    {
        if (!log.Contains(op))
        {
            return 0;
        }

        var entry = log.Get(op);
        if (!ReferenceEquals(entry, checksummedEntry))
        {
            checksummedEntry = entry;
            checksummedValue = entry.Checksum();
        }

        return checksummedValue;
    }

    private void AppendToLog(LogEntry entry)
    {
        log.Append(entry);
        ready.LogChanges.Add(new LogChange(LogChangeKind.Append, entry.Op, entry));
    }

    private void TruncateLogAfter(OpNumber op)
    {
        if (op < log.Head)
        {
            log.TruncateAfter(op);
            ready.LogChanges.Add(new LogChange(LogChangeKind.TruncateAfter, op, null));
        }
    }

    private void ResetLog(OpNumber head)
    {
        log.Reset(head);
        ready.LogChanges.Add(new LogChange(LogChangeKind.Reset, head, null));
    }

    /// <summary>
    /// Raises the commit number to what is known committed and held in the log. It is persisted
    /// with the next view change or checkpoint, not on every advance: safety never depends on it,
    /// and a restarted replica learns the rest from its peers.
    /// </summary>
    private void AdvanceCommitNumber(OpNumber committed)
    {
        var commit = OpNumber.Min(committed, log.Head);
        if (commit > CommitNumber)
        {
            CommitNumber = commit;
        }
    }

    /// <summary>The bytes of log entries one message may carry: half the message limit, the rest is headroom.</summary>
    private long EntryBytesMax => options.MessageSizeMax / 2;

    private ulong Jitter(int ticks) => prng.Below((ulong)ticks + 1);

    /// <summary>Invariants that hold after every step and tick; they stay on in production.</summary>
    private void AssertInvariants()
    {
        Invariant.That(LogView <= View, $"log view {LogView} is above view {View}");
        Invariant.That(Status != ReplicaStatus.Normal || LogView == View, $"normal in view {View} with log view {LogView}");
        Invariant.That(ExecutedOp <= CommitNumber, $"executed {ExecutedOp} beyond commit {CommitNumber}");
        Invariant.That(snapshotInFlight is null || snapshotInFlight.Op <= ExecutedOp, "a checkpoint in flight is of an executed op");
        Invariant.That(CommitNumber <= log.Head || CommitNumber == ExecutedOp, $"commit {CommitNumber} beyond op {log.Head}");
        Invariant.That(log.Start.Value >= 1, "the log starts at op 1 or later");
        Invariant.That(!IsPrimary || Status != ReplicaStatus.Normal || ackedOps[Index.Value] == log.Head, "the primary acknowledges its own head");
    }
}
