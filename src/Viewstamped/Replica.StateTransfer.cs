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

    /// <summary>True while committed ops are missing from the log, so execution waits for state transfer.</summary>
    public bool IsMissingCommittedOps => ExecutedOp < CommitNumber && !log.Contains(ExecutedOp.Next);

    private OpNumber StateTransferFrom => IsMissingCommittedOps ? ExecutedOp : log.Head;

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
        if (Status != ReplicaStatus.Normal || now < stateTransferDue)
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

        if (IsMissingCommittedOps && options.ReplicaCount > 1)
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

    /// <summary>§5.2: answer only in normal status and in the requester's view, so the entries are this view's log.</summary>
    private void OnGetState(GetState message)
    {
        if (Status != ReplicaStatus.Normal || message.View != View || message.Sender.Value >= options.ReplicaCount
            || message.Sender == Index)
        {
            Ignore();
            return;
        }

        var from = message.Op.Next;
        if (from >= log.Start)
        {
            var entries = log.Slice(from, options.EntriesPerMessageMax, EntryBytesMax);
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
        if (Status != ReplicaStatus.Normal || message.View != View || message.Sender.Value >= options.ReplicaCount)
        {
            Ignore();
            return;
        }

        if (message.Entries.Length > 0)
        {
            TakeEntries(message);
        }
        else if (message.CheckpointOp > ExecutedOp && checkpointFetch is null
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
