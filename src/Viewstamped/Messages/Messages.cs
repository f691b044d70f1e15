namespace Viewstamped.Messages;

/// <summary>What a client asks for.</summary>
public enum RequestKind : byte
{
    /// <summary>Open a session; committed through the log before any operation (D3).</summary>
    Register = 1,

    /// <summary>An operation for the service.</summary>
    Operation = 2,
}

/// <summary>Why a reply carries no result, or <see cref="Ok"/>.</summary>
public enum ReplyStatus : byte
{
    /// <summary>The request was executed; the reply carries its result.</summary>
    Ok = 0,

    /// <summary>This replica is not the primary of its view; the header's view names the primary.</summary>
    NotPrimary = 1,

    /// <summary>The replica is in a view change, recovering or catching up; try again later.</summary>
    NotNormal = 2,

    /// <summary>The request number is older than the session's latest: it will not execute.</summary>
    Stale = 3,

    /// <summary>The session already has another request in progress; one at a time per session.</summary>
    ConcurrentRequest = 4,

    /// <summary>The session is not registered (never was, or its record was evicted).</summary>
    SessionUnknown = 5,

    /// <summary>The session was evicted from the full client table; register a new one.</summary>
    Evicted = 6,

    /// <summary>Too many operations are in flight at the primary; try again later.</summary>
    Busy = 7,

    /// <summary>The operation is larger than the configured limit.</summary>
    TooLarge = 8,

    /// <summary>The service threw while executing the operation; every replica did the same.</summary>
    ServiceError = 9,
}

/// <summary>Client to primary: ⟨REQUEST op, c, s⟩ of §4.1, with a kind for session registration.</summary>
public sealed record Request(ClientId Client, ulong RequestNumber, RequestKind Kind, byte[] Operation) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.Request;
}

/// <summary>Replica to client: ⟨REPLY v, s, x⟩ of §4.1, or a refusal with its reason.</summary>
public sealed record Reply(ClientId Client, ulong RequestNumber, ReplyStatus Status, OpNumber Op, byte[] Result) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.Reply;
}

/// <summary>⟨PREPARE v, m, n, k⟩ of §4.1, carrying a run of consecutive entries.</summary>
public sealed record Prepare(OpNumber CommitNumber, LogEntry[] Entries) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.Prepare;
}

/// <summary>⟨PREPAREOK v, n, i⟩ of §4.1; acknowledges every op up to <see cref="Op"/>.</summary>
public sealed record PrepareOk(OpNumber Op) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.PrepareOk;
}

/// <summary>⟨COMMIT v, k⟩ of §4.1, also the primary's heartbeat; carries the primary's op so a backup sees it lags.</summary>
public sealed record Commit(OpNumber CommitNumber, OpNumber Op) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.Commit;
}

/// <summary>⟨STARTVIEWCHANGE v, i⟩ of §4.2; the header's view is the proposed view.</summary>
public sealed record StartViewChange : Message
{
    /// <inheritdoc />
    public override Command Command => Command.StartViewChange;
}

/// <summary>
/// ⟨DOVIEWCHANGE v, l, v', n, k, i⟩ of §4.2. <see cref="Entries"/> is the sender's retained log
/// (everything after its last compaction), ending at <see cref="Op"/>.
/// </summary>
public sealed record DoViewChange(View LogView, OpNumber Op, OpNumber CommitNumber, LogEntry[] Entries) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.DoViewChange;

    /// <summary>
    /// True when the sender's storage cut a damaged or torn tail that nothing vouched for, and it has not
    /// installed a peer's log since (<see cref="HardState.TailUncertain"/>): it may have acknowledged ops past
    /// <see cref="Op"/> in <see cref="LogView"/> that its log lost. The new primary does not count it among
    /// the replicas that never acknowledged such ops (docs/protocol.md, "Uncertain tails").
    /// </summary>
    public bool TailUncertain { get; init; }

    /// <summary>
    /// True when the sender's log lost entries it may have acknowledged (<see cref="HardState.LogDamaged"/>):
    /// it carries no log and takes no part in log selection or the quorum; it only tells the new primary
    /// that this replica answered and cannot vouch for anything, which lets the primary know when every
    /// replica has been heard from (docs/protocol.md, "Uncertain tails").
    /// </summary>
    public bool LogDamaged { get; init; }
}

/// <summary>⟨STARTVIEW v, l, n, k⟩ of §4.2; <see cref="Entries"/> is the new primary's retained log.</summary>
public sealed record StartView(OpNumber Op, OpNumber CommitNumber, LogEntry[] Entries) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.StartView;
}

/// <summary>⟨RECOVERY i, x⟩ of §4.3.</summary>
public sealed record Recovery(UInt128 Nonce) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.Recovery;
}

/// <summary>
/// ⟨RECOVERYRESPONSE v, x, l, n, k, j⟩ of §4.3. Only the primary's response carries a log;
/// a backup's has no entries and zero op and commit numbers.
/// </summary>
public sealed record RecoveryResponse(UInt128 Nonce, OpNumber Op, OpNumber CommitNumber, LogEntry[] Entries) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.RecoveryResponse;
}

/// <summary>⟨GETSTATE v, n', i⟩ of §5.2: send me the log after <see cref="Op"/>.</summary>
public sealed record GetState(OpNumber Op) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.GetState;
}

/// <summary>
/// ⟨NEWSTATE v, l, n, k⟩ of §5.2. <see cref="Entries"/> follow the requested op; when the
/// responder compacted those ops away, entries are empty and <see cref="CheckpointOp"/>,
/// <see cref="CheckpointSize"/> and <see cref="CheckpointChecksum"/> name the checkpoint to fetch.
/// </summary>
public sealed record NewState(
    OpNumber Op,
    OpNumber CommitNumber,
    LogEntry[] Entries,
    OpNumber CheckpointOp,
    ulong CheckpointSize,
    ulong CheckpointChecksum) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.NewState;
}

/// <summary>Ask for the chunk of checkpoint <see cref="CheckpointOp"/> starting at <see cref="Offset"/>.</summary>
public sealed record GetCheckpoint(OpNumber CheckpointOp, ulong Offset) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.GetCheckpoint;
}

/// <summary>
/// Ask a peer for the log entry at <see cref="Op"/> whose <see cref="LogEntry.Checksum"/> is
/// <see cref="Checksum"/>: a replica whose disk lost that entry learned its identity from the
/// <see cref="LogEntry.Parent"/> of the entry after it (protocol-aware repair, like TigerBeetle's request_prepare).
/// </summary>
public sealed record RequestEntry(OpNumber Op, ulong Checksum) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.RequestEntry;
}

/// <summary>Answer to <see cref="RequestEntry"/>: the entry, sent only when the sender holds one with the asked-for checksum.</summary>
public sealed record RepairEntry(LogEntry Entry) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.RepairEntry;
}

/// <summary>One chunk of a checkpoint; the whole checkpoint's size and checksum travel with every chunk.</summary>
public sealed record CheckpointChunk(OpNumber CheckpointOp, ulong TotalSize, ulong Checksum, ulong Offset, byte[] Data) : Message
{
    /// <inheritdoc />
    public override Command Command => Command.CheckpointChunk;
}
