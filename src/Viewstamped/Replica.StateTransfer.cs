using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>
/// State transfer (VR Revisited §5.2) within a view, without the truncation defect (D2): a
/// lagging replica never truncates its log to learn a new view (it takes the new view's StartView
/// instead), and when the ops it lacks were compacted away it fetches the peer's checkpoint in
/// checksummed chunks — where the seed crate dropped the request and the replica never caught up.
/// </summary>
public sealed partial class Replica
{
    private const int CheckpointFetchRetriesMax = 3;
    private ulong stateTransferDue;
    private int stateTransferAttempts;
    private CheckpointFetch? checkpointFetch;
    private OpNumber gapEnd;
    private ReplicaIndex gapSource;

    /// <summary>True while committed ops are missing from the log, so execution waits for state transfer.</summary>
    public bool IsMissingCommittedOps => ExecutedOp < CommitNumber && !log.Contains(ExecutedOp.Next);

    private OpNumber StateTransferFrom => IsMissingCommittedOps ? ExecutedOp : log.Head;

    /// <summary>
    /// True while this replica puts off installing an authoritative log (a StartView's, the chosen
    /// DoViewChange's, the primary's RecoveryResponse) whose first entry its log does not reach, and
    /// fetches the committed ops in between into its log first (<see cref="FillGapBeforeInstalling"/>).
    /// </summary>
    public bool IsFillingGap => gapEnd > OpNumber.Zero;

    /// <summary>The op after which the gap is still to be fetched: our log holds every committed op up to it.</summary>
    private OpNumber GapFrom => OpNumber.Min(OpNumber.Min(log.Head, CommitNumber), gapEnd);

    /// <summary>
    /// True, and the install put off, when installing an authoritative log of <paramref name="entries"/>
    /// ending at <paramref name="head"/> would drop our log and leave the committed ops before its first
    /// entry on our disk in neither a log nor a checkpoint. Until a checkpoint of them is durable they
    /// would be in memory only, and a power loss meanwhile could take the last copies of acknowledged
    /// ops. Instead the replica keeps its log and fetches those ops into it, from
    /// <paramref name="source"/> (which sent the log, so holds them committed) or, if it does not
    /// answer, from the other replicas in turn; the caller installs the log when it comes again (a
    /// view change and a recovery resend theirs every <see cref="ReplicaOptions.RetryTicks"/>), by
    /// then reaching it.
    /// </summary>
    private bool FillGapBeforeInstalling(LogEntry[] entries, OpNumber head, ReplicaIndex source)
    {
        var (start, dropsLog) = Placement(entries, head);
        if (!dropsLog || start.Previous <= CheckpointOp || options.ReplicaCount == 1)
        {
            // Our log reaches the first entry, or our checkpoint holds everything before it.
            gapEnd = OpNumber.Zero;
            return false;
        }

        if (IsRepairingEntries)
        {
            // The peer's log supersedes the repair, and the gap goes where the repaired suffix would:
            // the entries our disk lost are not voted for, and come with the peer's log, through Recovery.
            CancelEntryRepair();
            StartRecovery();
        }

        if (gapEnd != start.Previous)
        {
            gapEnd = start.Previous;
            gapSource = source;
            stateTransferDue = 0;
            stateTransferAttempts = 0;
        }

        RequestGap();
        return true;
    }

    /// <summary>Asks for the gap's next entries, at most once per retry period: the source first, then the others in turn.</summary>
    private void RequestGap()
    {
        if (now < stateTransferDue)
        {
            return;
        }

        var target = new ReplicaIndex((byte)((gapSource.Value + stateTransferAttempts) % options.ReplicaCount));
        if (target == Index)
        {
            target = new ReplicaIndex((byte)((target.Value + 1) % options.ReplicaCount));
        }

        stateTransferDue = now + (ulong)options.RetryTicks;
        stateTransferAttempts++;
        Send(target, new GetState(GapFrom) { Header = Header() });
    }

    /// <summary>
    /// Takes the committed entries of a NewState into the gap: only ops up to the sender's commit
    /// number, so only committed ones whatever the sender's view and status. Where our entry differs,
    /// ours was never committed (nor, by the hash chain, any of ours after it): it and they are
    /// replaced. What the gap holds is committed, so the commit number follows.
    /// </summary>
    private void FillGap(NewState message)
    {
        var last = OpNumber.Min(message.CommitNumber, gapEnd);
        foreach (var entry in message.Entries)
        {
            if (entry.Op > last)
            {
                break;
            }

            if (log.Contains(entry.Op) && !log.Get(entry.Op).Equals(entry))
            {
                TruncateLogAfter(entry.Op.Previous);
            }

            if (entry.Op == log.Head.Next && entry.Op >= log.Start)
            {
                AppendToLog(entry);
            }

            if (log.Contains(entry.Op))
            {
                CommitNumber = OpNumber.Max(CommitNumber, entry.Op);
            }
        }

        if (message.Entries.Length == 0)
        {
            BeginCheckpointFetch(message);
        }
        else if (GapFrom < gapEnd)
        {
            stateTransferDue = 0;
            RequestGap();
        }
    }

    /// <summary>Asks <paramref name="target"/> for what we lack, at most once per retry period.</summary>
    private void RequestState(ReplicaIndex target)
    {
        if (now < stateTransferDue || target == Index)
        {
            return;
        }

        stateTransferDue = now + (ulong)options.RetryTicks;
        stateTransferAttempts++;
        Send(target, new GetState(StateTransferFrom) { Header = Header() });
    }

    private void TickStateTransfer()
    {
        if ((Status != ReplicaStatus.Normal && !IsFillingGap) || now < stateTransferDue)
        {
            return;
        }

        if (checkpointFetch is { } fetch && ++fetch.Retries > CheckpointFetchRetriesMax)
        {
            // The source may have replaced that checkpoint with a newer one: start over.
            AbandonCheckpointFetch();
        }
        else if (checkpointFetch is { } stalled)
        {
            stateTransferDue = now + (ulong)options.RetryTicks;
            Send(stalled.Source, new GetCheckpoint(stalled.Checkpoint, (ulong)stalled.Received.Length) { Header = Header() });
            return;
        }

        if (IsFillingGap)
        {
            if (GapFrom < gapEnd)
            {
                RequestGap();
            }
        }
        else if (IsMissingCommittedOps && options.ReplicaCount > 1)
        {
            RequestState(StateTransferTarget());
        }
    }

    /// <summary>A backup asks its primary; a primary asks its backups in turn.</summary>
    private ReplicaIndex StateTransferTarget()
    {
        if (!IsPrimary)
        {
            return options.PrimaryOf(View);
        }

        var offset = 1 + (stateTransferAttempts % (options.ReplicaCount - 1));
        return new ReplicaIndex((byte)((Index.Value + offset) % options.ReplicaCount));
    }

    /// <summary>
    /// §5.2: in normal status and in the requester's view, the entries are this view's log, uncommitted
    /// ones too. Otherwise (a replica filling a gap asks whoever holds it) only committed entries go,
    /// which are the same in every log.
    /// </summary>
    private void OnGetState(GetState message)
    {
        if (message.Sender.Value >= options.ReplicaCount || message.Sender == Index)
        {
            Ignore();
            return;
        }

        var from = message.Op.Next;
        var inView = Status == ReplicaStatus.Normal && message.View == View;
        if (from >= log.Start)
        {
            if (!inView && from > CommitNumber)
            {
                Ignore();
                return;
            }

            var entries = log.Slice(from, options.EntriesPerMessageMax, EntryBytesMax);
            if (!inView && entries.Length > 0 && entries[^1].Op > CommitNumber)
            {
                entries = entries[..(int)(CommitNumber - from + 1)];
            }

            Send(message.Sender, new NewState(log.Head, CommitNumber, entries, OpNumber.Zero, 0, 0) { Header = Header() });
        }
        else if (latestCheckpoint is { } checkpoint)
        {
            Send(message.Sender, new NewState(log.Head, CommitNumber, [], checkpoint.Op, (ulong)checkpoint.State.Length, checkpoint.Checksum) { Header = Header() });
        }
        else
        {
            Ignore();
        }
    }

    private void OnNewState(NewState message)
    {
        if (message.Sender.Value >= options.ReplicaCount || message.Sender == Index)
        {
            Ignore();
        }
        else if (IsFillingGap && Status != ReplicaStatus.Normal)
        {
            FillGap(message);
        }
        else if (Status != ReplicaStatus.Normal || message.View != View)
        {
            Ignore();
        }
        else if (message.Entries.Length > 0)
        {
            TakeEntries(message);
        }
        else
        {
            BeginCheckpointFetch(message);
        }
    }

    /// <summary>Starts fetching the checkpoint a NewState names, when it takes us further and none is being fetched.</summary>
    private void BeginCheckpointFetch(NewState message)
    {
        if (message.CheckpointOp > ExecutedOp && checkpointFetch is null
            && message.CheckpointSize <= (ulong)options.CheckpointSizeMax && service is ICheckpointingService)
        {
            checkpointFetch = new CheckpointFetch(message.Sender, message.CheckpointOp, message.CheckpointSize, message.CheckpointChecksum,
                BeginCheckpoint(message.CheckpointOp));
            stateTransferDue = now + (ulong)options.RetryTicks;
            Send(message.Sender, new GetCheckpoint(message.CheckpointOp, 0) { Header = Header() });
        }
    }

    /// <summary>
    /// Entries that close a gap below the log are committed (at most the sender's commit number) and
    /// are executed directly; entries after our head extend the log as Prepares would.
    /// </summary>
    private void TakeEntries(NewState message)
    {
        var appended = false;
        foreach (var entry in message.Entries)
        {
            if (entry.Op == ExecutedOp.Next && entry.Op < log.Start && entry.Op <= message.CommitNumber)
            {
                CommitNumber = OpNumber.Max(CommitNumber, entry.Op);
                Execute(entry);
            }
            else if (entry.Op == log.Head.Next && entry.Op >= log.Start)
            {
                AppendToLog(entry);
                appended = true;
            }
        }

        AdvanceCommitNumber(message.CommitNumber);
        if (appended && !IsPrimary)
        {
            Send(options.PrimaryOf(View), new PrepareOk(log.Head) { Header = Header() });
        }

        if (IsMissingCommittedOps || message.Op > log.Head)
        {
            stateTransferDue = 0;
            RequestState(message.Sender);
        }
    }

    private void OnGetCheckpoint(GetCheckpoint message)
    {
        if (latestCheckpoint is not { } checkpoint || checkpoint.Op != message.CheckpointOp
            || message.Offset >= (ulong)checkpoint.State.Length || message.Sender.Value >= options.ReplicaCount
            || message.Sender == Index)
        {
            Ignore();
            return;
        }

        var state = checkpoint.State;
        var data = new byte[(int)Math.Min((ulong)options.CheckpointChunkSize, (ulong)state.Length - message.Offset)];
        state.Read((long)message.Offset, data);
        Send(message.Sender, new CheckpointChunk(checkpoint.Op, (ulong)state.Length, checkpoint.Checksum, message.Offset, data) { Header = Header() });
    }

    private void OnCheckpointChunk(CheckpointChunk message)
    {
        if (checkpointFetch is not { } fetch || message.CheckpointOp != fetch.Checkpoint || message.TotalSize != fetch.Size
            || message.Checksum != fetch.Checksum || message.Offset != (ulong)fetch.Received.Length
            || message.Offset + (ulong)message.Data.Length > fetch.Size)
        {
            Ignore();
            return;
        }

        fetch.Received.Write(message.Data);
        fetch.Retries = 0;
        if ((ulong)fetch.Received.Length < fetch.Size)
        {
            stateTransferDue = now + (ulong)options.RetryTicks;
            Send(fetch.Source, new GetCheckpoint(fetch.Checkpoint, (ulong)fetch.Received.Length) { Header = Header() });
            return;
        }

        checkpointFetch = null;
        stateTransferDue = 0;
        var state = fetch.Received.Build();
        if (state.ComputeChecksum() == fetch.Checksum && fetch.Checkpoint > ExecutedOp)
        {
            InstallCheckpoint(new Checkpoint(fetch.Checkpoint, state, fetch.Checksum));
        }
        else
        {
            fetch.Received.Abandon();
        }
    }

    private void AbandonCheckpointFetch()
    {
        checkpointFetch?.Received.Abandon();
        checkpointFetch = null;
    }

    /// <summary>Adopts a verified checkpoint from a peer: the one place where the executed op jumps.</summary>
    private void InstallCheckpoint(Checkpoint checkpoint)
    {
        if (checkpoint.Op >= log.Head)
        {
            ResetLog(checkpoint.Op);
        }
        else if (checkpoint.Op > CommitNumber && Status != ReplicaStatus.Normal)
        {
            // Filling a gap: our entries up to the checkpoint are not known to be committed, and must
            // not pass for committed ones once the commit number jumps there.
            log.CompactBefore(checkpoint.Op.Next);
            ready.CompactBefore = log.Start;
        }

        RestoreCheckpoint(checkpoint);
        SaveCheckpoint(checkpoint);
        ExecuteCommitted();
    }

    private sealed class CheckpointFetch(ReplicaIndex source, OpNumber checkpoint, ulong size, ulong checksum, CheckpointBuilder received)
    {
        public ReplicaIndex Source { get; } = source;

        public OpNumber Checkpoint { get; } = checkpoint;

        public ulong Size { get; } = size;

        public ulong Checksum { get; } = checksum;

        public CheckpointBuilder Received { get; } = received;

        public int Retries { get; set; }
    }
}
