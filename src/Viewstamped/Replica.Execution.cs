using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>Executing committed ops, the client table, checkpoints and log compaction (§4.1 step 5, §5.1).</summary>
public sealed partial class Replica
{
    private Checkpoint? latestCheckpoint;
    private CheckpointSnapshot? snapshotInFlight;
    private bool logDamaged;

    /// <summary>Our log may lack a newest batch we acknowledged (<see cref="HardState.TailUncertain"/>); cleared when we install a peer's log.</summary>
    private bool tailUncertain;
    private long executedBytesSinceCheckpoint;

    /// <summary>Executes, in order, every committed op held in the log; the primary replies to clients.</summary>
    private void ExecuteCommitted()
    {
        while (ExecutedOp < CommitNumber && log.Contains(ExecutedOp.Next))
        {
            Execute(log.Get(ExecutedOp.Next));
        }
    }

    private void Execute(LogEntry entry)
    {
        ExecutedOp = entry.Op;
        executedBytesSinceCheckpoint += ReplicaLog.SizeOf(entry);
        var replying = Status == ReplicaStatus.Normal && IsPrimary;
        if (replying && pendingRequests.TryGetValue(entry.Client, out var pending) && pending.Op == entry.Op)
        {
            pendingRequests.Remove(entry.Client);
        }

        var (status, result) = entry.Kind == EntryKind.Register ? ExecuteRegister(entry, replying) : ExecuteOperation(entry);
        if (replying && status is { } replyStatus)
        {
            SendReply(entry.Client, entry.RequestNumber, replyStatus, entry.Op, result);
        }

        TakeCheckpointIfDue();
    }

    private (ReplyStatus?, byte[]) ExecuteRegister(LogEntry entry, bool replying)
    {
        var evicted = clients.Register(entry.Client, entry.Op);
        if (replying && evicted is { } evictedClient)
        {
            // Tell the evicted client why its next request would fail (D3).
            SendReply(evictedClient, 0, ReplyStatus.Evicted, entry.Op, []);
        }

        return (ReplyStatus.Ok, []);
    }

    private (ReplyStatus?, byte[]) ExecuteOperation(LogEntry entry)
    {
        var session = clients.Find(entry.Client);
        if (session is null)
        {
            // Evicted between prepare and commit: at-most-once forbids guessing, so it does not execute.
            return (ReplyStatus.SessionUnknown, []);
        }

        if (entry.RequestNumber <= session.RequestNumber && !Mutated(Mutation.NoDuplicateCheck))
        {
            return (null, []);
        }

        byte[] result;
        var status = ReplyStatus.Ok;
        try
        {
            result = service.Execute(entry.Operation, entry.Prediction);
        }
        catch (Exception exception) when (exception is not InvariantViolationException)
        {
            // The service is deterministic, so every replica fails the same way on this op.
            result = [];
            status = ReplyStatus.ServiceError;
        }

        // The session found above is the table's own record: update it without a second lookup.
        session.Update(entry.RequestNumber, entry.Op, result);
        return (status, result);
    }

    /// <summary>True when checkpoints are on: the service can take them and they are not disabled.</summary>
    private bool TakesCheckpoints => options.CheckpointInterval != 0 && service is ICheckpointingService;

    /// <summary>
    /// True when a checkpoint is due at <see cref="ExecutedOp"/>: every <see cref="ReplicaOptions.CheckpointInterval"/>
    /// ops; once the entries executed since the last checkpoint reach <see cref="ReplicaOptions.CheckpointBytesInterval"/>
    /// bytes, which bounds the log in memory when entries are large; and as soon as a gap between the
    /// latest checkpoint and the log's start is executed, since nothing on disk holds those committed ops.
    /// The first two depend only on the executed log since the last checkpoint, so replicas that took the
    /// same checkpoints take the same next one; the op-count one is the same on every replica whatever
    /// came before, so one that took a checkpoint of its own (the third, or a peer's) falls back in step there.
    /// </summary>
    private bool CheckpointDue() =>
        TakesCheckpoints
        && (ExecutedOp.Value % options.CheckpointInterval == 0
            || (options.CheckpointBytesInterval != 0 && executedBytesSinceCheckpoint >= options.CheckpointBytesInterval)
            || (CheckpointOp < log.Start.Previous && ExecutedOp >= log.Start.Previous));

    private void TakeCheckpointIfDue()
    {
        if (!CheckpointDue() || service is not ICheckpointingService checkpointing)
        {
            return;
        }

        if (snapshotInFlight is not null)
        {
            // One checkpoint is written at a time: this one is skipped, and the log waits for the next
            // (by op count; by bytes or for a gap, the next op executed tries again).
            return;
        }

        BeginCheckpointOfExecutedOp();
        if (checkpointing is ISnapshottingService snapshotting)
        {
            TakeSnapshot(snapshotting);
            return;
        }

        WriteCheckpoint(checkpointing);
    }

    /// <summary>What taking a checkpoint of the executed op, either way, starts with.</summary>
    private void BeginCheckpointOfExecutedOp()
    {
        executedBytesSinceCheckpoint = 0;
        if (checkpointFetch is { } fetch && fetch.Checkpoint <= ExecutedOp)
        {
            // Reached by executing: the fetch is no use, and its builder may be for this very op.
            AbandonCheckpointFetch();
        }
    }

    /// <summary>Writes the checkpoint of the executed op on the loop, and persists it with the next Ready.</summary>
    private void WriteCheckpoint(ICheckpointingService checkpointing)
    {
        // The previous checkpoint is replaced below; letting it go first means its state, when still
        // in memory, need not be held twice while the new one is written.
        latestCheckpoint = null;
        var writer = BeginCheckpoint(ExecutedOp);
        CheckpointSnapshot.WriteTable(writer, clients.Serialize());
        if (checkpointing is IStreamingCheckpointingService streaming)
        {
            // The service writes straight into the chunks: no array of the whole state.
            streaming.WriteCheckpoint(writer);
        }
        else
        {
            writer.Write(checkpointing.WriteCheckpoint());
        }

        var state = writer.Build();
        SaveCheckpoint(new Checkpoint(ExecutedOp, state, state.ComputeChecksum()));
    }

    /// <summary>
    /// Captures the checkpoint at the executed op and hands it out to be written beside the loop
    /// (<see cref="Ready.Snapshot"/>). Nothing else changes until <see cref="CheckpointWritten"/>: the
    /// latest checkpoint, the hard state and the log stay, so a crash meanwhile loses only this one.
    /// </summary>
    private void TakeSnapshot(ISnapshottingService snapshotting)
    {
        Invariant.That(ready.Snapshot is null, "one checkpoint snapshot per Ready");
        var snapshot = new CheckpointSnapshot(ExecutedOp, clients.Serialize(), snapshotting.TakeSnapshot(), BeginCheckpoint(ExecutedOp));
        snapshotInFlight = snapshot;
        ready.Snapshot = snapshot;
        if (Mutated(Mutation.CompactBeforeCheckpointWritten))
        {
            CompactLog(snapshot.Op);
        }
    }

    /// <summary>
    /// Takes back the checkpoint this replica handed out in <see cref="Ready.Snapshot"/>, written by
    /// <see cref="CheckpointSnapshot.Write"/>: it becomes the latest checkpoint, and the next Ready persists
    /// it, with the hard state, and compacts the log before it. A checkpoint installed from a peer while it
    /// was written may have overtaken it; it is then dropped. Call on the replica's loop, like <see cref="Step"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="checkpoint"/> is not what the snapshot in flight wrote.</exception>
    public void CheckpointWritten(Checkpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (snapshotInFlight is not { } snapshot || !snapshot.Wrote(checkpoint))
        {
            throw new ArgumentException($"the checkpoint at op {checkpoint.Op} is not the one this replica has in flight", nameof(checkpoint));
        }

        snapshotInFlight = null;
        snapshot.Release();
        if (checkpoint.Op > CheckpointOp)
        {
            SaveCheckpoint(checkpoint);
        }
        else
        {
            // A newer checkpoint was installed from a peer meanwhile.
            snapshot.Abandon();
        }

        AssertInvariants();
    }

    /// <summary>Where the checkpoint at <paramref name="op"/> is written: the sink's builder, or memory.</summary>
    private CheckpointBuilder BeginCheckpoint(OpNumber op) => checkpointSink?.Begin(op) ?? new MemoryCheckpointBuilder();

    /// <summary>Persists a checkpoint and compacts the log before it, keeping the configured suffix.</summary>
    private void SaveCheckpoint(Checkpoint checkpoint)
    {
        latestCheckpoint = checkpoint;
        ready.Checkpoint = checkpoint;
        PersistHardState();
        CompactLog(checkpoint.Op);
    }

    /// <summary>Drops the log before the checkpoint at <paramref name="checkpointOp"/>, keeping the configured suffix (entries and bytes).</summary>
    private void CompactLog(OpNumber checkpointOp)
    {
        var keepFrom = checkpointOp.Value + 1 > options.LogSuffix
            ? new OpNumber(checkpointOp.Value + 1 - options.LogSuffix)
            : new OpNumber(1);
        if (options.LogSuffixBytesMax != 0)
        {
            keepFrom = OpNumber.Max(keepFrom, log.SuffixStart(checkpointOp, keepFrom, options.LogSuffixBytesMax));
        }

        if (keepFrom > log.Start)
        {
            log.CompactBefore(OpNumber.Min(keepFrom, log.Head.Next));
            ready.CompactBefore = log.Start;
        }
    }

    /// <summary>Replaces the service state and the client table with a checkpoint's.</summary>
    private void RestoreCheckpoint(Checkpoint checkpoint)
    {
        // A state kept on disk is read in once here, and let go when this returns.
        var state = checkpoint.State.ToSequence();
        Invariant.That(Checksum(state) == checkpoint.Checksum, "checkpoint checksum mismatch");
        var checkpointing = (ICheckpointingService)service;
        Span<byte> prefix = stackalloc byte[4];
        state.Slice(0, 4).CopyTo(prefix);
        var tableLength = BinaryPrimitives.ReadInt32LittleEndian(prefix);
        clients.Restore(state.Slice(4, tableLength).ToArray());
        var serviceState = state.Slice(4 + tableLength);
        if (checkpointing is IStreamingCheckpointingService streaming)
        {
            streaming.RestoreCheckpoint(serviceState);
        }
        else
        {
            checkpointing.RestoreCheckpoint(serviceState.IsSingleSegment ? serviceState.FirstSpan : serviceState.ToArray());
        }

        latestCheckpoint = checkpoint;
        ExecutedOp = checkpoint.Op;
        executedBytesSinceCheckpoint = 0;
        CommitNumber = OpNumber.Max(CommitNumber, checkpoint.Op);
    }

    private static ulong Checksum(ReadOnlySequence<byte> state)
    {
        var hash = new XxHash64();
        foreach (var segment in state)
        {
            hash.Append(segment.Span);
        }

        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>Loads what the disk held, re-executes the committed log, then starts recovery (§4.3, D1).</summary>
    private void Restart(DurableState durable)
    {
        View = durable.HardState.View;
        logDamaged = (durable.LogDamaged || durable.HardState.LogDamaged) && !Mutated(Mutation.TrustDamagedLog);
        if (logDamaged)
        {
            // Storage cuts the damage off and will not report it again: the repair-pending state must
            // be durable before this replica does anything, so a crash before the repair keeps it.
            if (options.ReplicaCount == 1)
            {
                throw new ArgumentException("the log of this single replica lost entries it had acknowledged, and it has no peer to repair them from", nameof(durable));
            }

            PersistHardState();
        }

        tailUncertain = durable.TailUncertain || durable.HardState.TailUncertain;
        if (tailUncertain)
        {
            // Like the damage flag: storage cut the tail and will not find it again, so the flag must be ours, durably.
            PersistHardState();
        }

        LogView = durable.HardState.LogView;
        if (durable.Checkpoint is { } checkpoint)
        {
            RestoreCheckpoint(checkpoint);
        }

        log.Reset(durable.Entries.Count > 0 ? durable.Entries[0].Op.Previous : durable.LogHead);
        foreach (var entry in durable.Entries)
        {
            log.Append(entry);
        }

        if (log.Head < ExecutedOp)
        {
            log.Reset(ExecutedOp);
        }

        if (logDamaged && durable.DamagedSuffix.Count > 0 && TryBeginEntryRepair(durable.DamagedSuffix, durable.LogHead, durable.HardState.CommitNumber))
        {
            // Storage placed every record after the damage, so the log up to the suffix is exact and the
            // lost entries are named by their successors: fetch just those (Replica.Repair.cs).
            Status = ReplicaStatus.Recovering;
        }
        else if (logDamaged)
        {
            // A damaged log is not trusted beyond the checkpoint: the cut may have removed a truncation
            // record along with the damage, bringing back entries that were replaced, and the persisted
            // commit number may count ops the log no longer holds. The checkpoint is verified; the rest
            // comes from a peer's log and state transfer.
            ResetLog(ExecutedOp);
            CommitNumber = ExecutedOp;
        }
        else
        {
            CommitNumber = OpNumber.Max(CommitNumber, OpNumber.Min(durable.HardState.CommitNumber, log.Head));
        }

        ExecuteCommitted();
        if (!IsRepairingEntries && !recoveryStarted)
        {
            StartRecovery();
        }
    }
}
