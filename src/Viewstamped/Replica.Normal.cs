using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>Normal operation (VR Revisited §4.1): requests, prepares, acknowledgements, commits.</summary>
public sealed partial class Replica
{
    private readonly OpNumber[] ackedOps;
    private readonly Dictionary<ClientId, (ulong RequestNumber, OpNumber Op)> pendingRequests = [];
    private OpNumber unsentFrom = OpNumber.Zero;
    private long uncommittedBytes;
    private OpNumber uncommittedBytesFrom;
    private ulong heartbeatDue;
    private ulong prepareRetryDue;
    private ulong primaryDeadline;

    private bool HasUnsentPrepares => unsentFrom != OpNumber.Zero && unsentFrom <= log.Head;

    private void OnRequest(Request request)
    {
        if (RefuseRequest(request) is { } refusal)
        {
            SendReply(request.Client, request.RequestNumber, refusal, OpNumber.Zero, []);
            return;
        }

        if (request.Kind == RequestKind.Register)
        {
            OnRegister(request);
            return;
        }

        var session = clients.Find(request.Client);
        if (session is null && TryGetPending(request.Client, out _))
        {
            // Its registration is prepared but not yet committed (it may predate a view change).
            SendReply(request.Client, request.RequestNumber, ReplyStatus.ConcurrentRequest, OpNumber.Zero, []);
        }
        else if (session is null)
        {
            SendReply(request.Client, request.RequestNumber, ReplyStatus.SessionUnknown, OpNumber.Zero, []);
        }
        else if (Mutated(Mutation.NoDuplicateCheck) && request.RequestNumber >= session.RequestNumber)
        {
            Prepare(request);
        }
        else if (TryGetPending(request.Client, out var pending))
        {
            // The same request is already in the pipeline: its reply will come at commit.
            if (pending != request.RequestNumber)
            {
                SendReply(request.Client, request.RequestNumber, ReplyStatus.ConcurrentRequest, OpNumber.Zero, []);
            }
        }
        else if (request.RequestNumber < session.RequestNumber)
        {
            SendReply(request.Client, request.RequestNumber, ReplyStatus.Stale, OpNumber.Zero, []);
        }
        else if (request.RequestNumber == session.RequestNumber)
        {
            SendReply(request.Client, request.RequestNumber, ReplyStatus.Ok, session.Op, session.Result);
        }
        else
        {
            Prepare(request);
        }
    }

    private ReplyStatus? RefuseRequest(Request request)
    {
        if (Status != ReplicaStatus.Normal || IsMissingCommittedOps)
        {
            // Without every committed op executed, the client table cannot answer for a session.
            return ReplyStatus.NotNormal;
        }

        if (!IsPrimary)
        {
            return ReplyStatus.NotPrimary;
        }

        if (request.Operation.Length > options.RequestSizeMax)
        {
            return ReplyStatus.TooLarge;
        }

        var duplicate = TryGetPending(request.Client, out var pending) && pending == request.RequestNumber;
        var full = log.Head - CommitNumber >= (ulong)options.PipelineMax
            || UncommittedBytes() + request.Operation.Length > options.PipelineBytesMax;
        return !duplicate && full ? ReplyStatus.Busy : null;
    }

    private void OnRegister(Request request)
    {
        if (clients.Find(request.Client) is { } session && session.RequestNumber == 0)
        {
            SendReply(request.Client, 0, ReplyStatus.Ok, session.Op, []);
        }
        else if (clients.Find(request.Client) is not null)
        {
            SendReply(request.Client, 0, ReplyStatus.Stale, OpNumber.Zero, []);
        }
        else if (!TryGetPending(request.Client, out _))
        {
            Prepare(request);
        }
    }

    /// <summary>§4.1 step 2-3: the primary assigns the next op and appends the entry; the Prepare goes out at <see cref="TakeReady"/>.</summary>
    private void Prepare(Request request)
    {
        var kind = request.Kind == RequestKind.Register ? EntryKind.Register : EntryKind.Operation;
        var prediction = kind == EntryKind.Operation && service is IPredictingService predicting
            ? predicting.Predict(request.Operation)
            : [];
        var entry = new LogEntry(log.Head.Next, View, kind, request.Client, request.RequestNumber, request.Operation, prediction)
        {
            Parent = ChecksumAt(log.Head),
        };
        AppendToLog(entry);
        uncommittedBytes += ReplicaLog.SizeOf(entry);
        pendingRequests[request.Client] = (request.RequestNumber, entry.Op);
        ackedOps[Index.Value] = log.Head;
        if (unsentFrom == OpNumber.Zero || unsentFrom > log.Head)
        {
            unsentFrom = entry.Op;
        }

        AdvancePrimaryCommit();
    }

    /// <summary>
    /// Sends one Prepare per backup for every entry appended since the last flush: under load many
    /// requests share a Prepare, and when idle a single request goes out at once.
    /// </summary>
    private void FlushPrepares()
    {
        if (!HasUnsentPrepares || Status != ReplicaStatus.Normal || !IsPrimary || options.ReplicaCount == 1)
        {
            unsentFrom = OpNumber.Zero;
            return;
        }

        // With backups, an unsent entry cannot be committed, so it cannot have been compacted yet.
        Invariant.That(unsentFrom >= log.Start, $"unsent op {unsentFrom} was compacted before its Prepare");
        for (var from = unsentFrom; from <= log.Head; from += (ulong)options.EntriesPerMessageMax)
        {
            Broadcast(new Prepare(CommitNumber, log.Slice(from, options.EntriesPerMessageMax, EntryBytesMax)) { Header = Header() });
        }

        unsentFrom = OpNumber.Zero;
        heartbeatDue = now + (ulong)options.HeartbeatTicks;
    }

    private void OnPrepare(Prepare prepare)
    {
        if (IgnoreFromPrimary(prepare) || prepare.Entries.Length == 0)
        {
            return;
        }

        foreach (var entry in prepare.Entries)
        {
            if (entry.Op == log.Head.Next)
            {
                AppendToLog(entry);
            }
        }

        if (log.Head >= prepare.Entries[^1].Op)
        {
            // Cumulative: every op up to our head is in our log, and it is durable before this leaves.
            Send(prepare.Sender, new PrepareOk(log.Head) { Header = Header() });
        }
        else if (Mutated(Mutation.AckWithoutEntries))
        {
            Send(prepare.Sender, new PrepareOk(prepare.Entries[^1].Op) { Header = Header() });
        }
        else
        {
            RequestState(prepare.Sender);
        }

        AdvanceCommitNumber(prepare.CommitNumber);
    }

    private void OnCommit(Commit commit)
    {
        if (IgnoreFromPrimary(commit))
        {
            return;
        }

        AdvanceCommitNumber(commit.CommitNumber);
        if (commit.Op > log.Head)
        {
            RequestState(commit.Sender);
        }
    }

    /// <summary>
    /// The guard shared by Prepare and Commit: a backup in normal status takes them only from the
    /// primary of its own view. A message from the primary of a later view means this replica missed
    /// a view change: it moves to that view and asks for its StartView.
    /// </summary>
    private bool IgnoreFromPrimary(Message message)
    {
        if (message.Sender != options.PrimaryOf(message.View) || message.Sender == Index)
        {
            Ignore();
            return true;
        }

        if (message.View > View && Status != ReplicaStatus.Recovering)
        {
            EnterViewChange(message.View);
            return true;
        }

        if (message.View < View || Status != ReplicaStatus.Normal)
        {
            Ignore();
            return true;
        }

        ResetPrimaryTimeout();
        return false;
    }

    private void OnPrepareOk(PrepareOk prepareOk)
    {
        if (Status != ReplicaStatus.Normal || !IsPrimary || prepareOk.View != View
            || prepareOk.Sender.Value >= options.ReplicaCount || prepareOk.Op > log.Head)
        {
            Ignore();
            return;
        }

        var sender = prepareOk.Sender.Value;
        ackedOps[sender] = OpNumber.Max(ackedOps[sender], prepareOk.Op);
        AdvancePrimaryCommit();
    }

    /// <summary>§4.1 step 5: an op is committed once a quorum (the primary included) holds it in this view.</summary>
    private void AdvancePrimaryCommit()
    {
        Span<ulong> acked = stackalloc ulong[ackedOps.Length];
        for (var i = 0; i < ackedOps.Length; i++)
        {
            acked[i] = ackedOps[i].Value;
        }

        acked.Sort();
        var quorum = Mutated(Mutation.CommitWithoutQuorum) ? Math.Max(1, options.Quorum - 1) : options.Quorum;
        AdvanceCommitNumber(new OpNumber(acked[ackedOps.Length - quorum]));
    }

    /// <summary>
    /// The request of <paramref name="client"/> that is prepared but not executed. An entry whose op
    /// was executed (or skipped by a checkpoint) no longer counts, so a stale one cannot block the client.
    /// </summary>
    private bool TryGetPending(ClientId client, out ulong requestNumber)
    {
        requestNumber = 0;
        if (!pendingRequests.TryGetValue(client, out var pending))
        {
            return false;
        }

        if (pending.Op <= ExecutedOp || !log.Contains(pending.Op))
        {
            pendingRequests.Remove(client);
            return false;
        }

        requestNumber = pending.RequestNumber;
        return true;
    }

    private void CountUncommittedBytes()
    {
        uncommittedBytes = 0;
        uncommittedBytesFrom = OpNumber.Max(CommitNumber.Next, log.Start);
        for (var op = uncommittedBytesFrom; op <= log.Head; op = op.Next)
        {
            uncommittedBytes += ReplicaLog.SizeOf(log.Get(op));
        }
    }

    /// <summary>The bytes of the primary's uncommitted entries, brought up to date with the commit number.</summary>
    private long UncommittedBytes()
    {
        if (uncommittedBytesFrom < log.Start)
        {
            // Compaction dropped entries we had counted: count again from the log.
            CountUncommittedBytes();
        }

        for (; uncommittedBytesFrom <= CommitNumber; uncommittedBytesFrom = uncommittedBytesFrom.Next)
        {
            if (log.Contains(uncommittedBytesFrom))
            {
                uncommittedBytes -= ReplicaLog.SizeOf(log.Get(uncommittedBytesFrom));
            }
        }

        return uncommittedBytes;
    }

    private void TickPrimary()
    {
        if (now >= prepareRetryDue)
        {
            prepareRetryDue = now + (ulong)options.RetryTicks;
            ResendPrepares();
        }

        if (now >= heartbeatDue)
        {
            heartbeatDue = now + (ulong)options.HeartbeatTicks;
            Broadcast(new Commit(CommitNumber, log.Head) { Header = Header() });
        }
    }

    /// <summary>Re-sends what a backup has not acknowledged; lost Prepares cost one retry period.</summary>
    private void ResendPrepares()
    {
        for (var i = 0; i < options.ReplicaCount; i++)
        {
            // A backup that has acknowledged nothing in this view may hold everything but the newest.
            var from = OpNumber.Max(ackedOps[i].Next, OpNumber.Max(log.Start, CommitNumber.Next));
            if (i != Index.Value && from <= log.Head)
            {
                Send(new ReplicaIndex((byte)i), new Prepare(CommitNumber, log.Slice(from, options.EntriesPerMessageMax, EntryBytesMax)) { Header = Header() });
            }
        }
    }

    private void TickBackup()
    {
        if (now >= primaryDeadline)
        {
            SuspectPrimary();
        }
    }

    private void ResetPrimaryTimeout() =>
        primaryDeadline = now + (ulong)options.ViewChangeTimeoutTicks + Jitter(options.ViewChangeTimeoutTicks);

    /// <summary>Clears the primary's bookkeeping when it starts a view: nothing is acknowledged yet but its own log.</summary>
    private void BecomePrimary()
    {
        Array.Fill(ackedOps, OpNumber.Zero);
        ackedOps[Index.Value] = log.Head;
        pendingRequests.Clear();
        for (var op = OpNumber.Max(CommitNumber.Next, log.Start); op <= log.Head; op = op.Next)
        {
            var entry = log.Get(op);
            pendingRequests[entry.Client] = (entry.RequestNumber, entry.Op);
        }

        CountUncommittedBytes();

        unsentFrom = OpNumber.Zero;
        heartbeatDue = now;
        prepareRetryDue = now + (ulong)options.RetryTicks;
        AdvancePrimaryCommit();
    }
}
