using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>
/// View changes (VR Revisited §4.2) with the fixes of PROTOCOL-NOTES: a StartViewChange is a
/// proposal that commits nobody until a quorum proposed the same view (D4, like Raft's PreVote); the
/// view is persisted before any DoViewChange promises it (D1); a StartView never moves a replica to
/// an older view (D5); and only replicas in the right status take part (D7).
/// </summary>
public sealed partial class Replica
{
    private readonly Dictionary<ReplicaIndex, DoViewChange> doViewChanges = [];

    /// <summary>Replicas that answered this view change with a damaged log (<see cref="DoViewChange.LogDamaged"/>), as a bit set.</summary>
    private ulong damagedDoViewChanges;
    private View proposedView;
    private ulong startViewChangeVotes;
    private ulong viewChangeRetryDue;
    private ulong viewChangeDeadline;

    /// <summary>True when this replica proposes a view change; it still serves its view until a quorum agrees.</summary>
    public bool IsSuspectingPrimary => proposedView > View || Status != ReplicaStatus.Normal;

    /// <summary>A backup stopped hearing from its primary: propose the next view to everyone.</summary>
    private void SuspectPrimary()
    {
        if (proposedView <= View)
        {
            Propose(View.Next);
        }
        else if (now >= viewChangeRetryDue)
        {
            viewChangeRetryDue = now + (ulong)options.RetryTicks;
            Broadcast(new StartViewChange { Header = Header() with { View = proposedView } });
        }
    }

    private void Propose(View view)
    {
        proposedView = view;
        startViewChangeVotes = 1UL << Index.Value;
        viewChangeRetryDue = now + (ulong)options.RetryTicks;
        Broadcast(new StartViewChange { Header = Header() with { View = view } });
        EnterViewChangeOnQuorum();
    }

    private void OnStartViewChange(StartViewChange message)
    {
        if (message.Sender.Value >= options.ReplicaCount || message.View <= View)
        {
            // A peer still collecting votes for the view we are already changing to gets ours again.
            if (Status == ReplicaStatus.ViewChange && message.View == View && message.Sender != Index)
            {
                Send(message.Sender, new StartViewChange { Header = Header() });
            }

            Ignore();
            return;
        }

        var suspecting = IsSuspectingPrimary || (Status == ReplicaStatus.Normal && !IsPrimary && now >= primaryDeadline);
        if (!suspecting)
        {
            // We hear from our primary: a lone replica cannot force a view change (D4).
            Ignore();
            return;
        }

        if (message.View > proposedView)
        {
            Propose(message.View);
        }

        if (message.View == proposedView)
        {
            startViewChangeVotes |= 1UL << message.Sender.Value;
            EnterViewChangeOnQuorum();
        }
    }

    private void EnterViewChangeOnQuorum()
    {
        if (ulong.PopCount(startViewChangeVotes) >= (ulong)options.Quorum && proposedView > View)
        {
            EnterViewChange(proposedView);
        }
    }

    /// <summary>
    /// §4.2 step 2: stop serving the old view, persist the new view, and send a DoViewChange with
    /// our log to the new primary. Persisting before the message leaves is D1's fix.
    /// </summary>
    private void EnterViewChange(View view)
    {
        Invariant.That(view > View, $"view change to {view} from {View}");
        View = view;
        Status = ReplicaStatus.ViewChange;
        proposedView = view;
        startViewChangeVotes = 0;
        doViewChanges.Clear();
        damagedDoViewChanges = 0;
        if (!Mutated(Mutation.ViewNotPersisted))
        {
            PersistHardState();
        }

        viewChangeDeadline = now + (ulong)options.ViewChangeTimeoutTicks + Jitter(options.ViewChangeTimeoutTicks);
        viewChangeRetryDue = now + (ulong)options.RetryTicks;
        SendDoViewChange();
    }

    private void SendDoViewChange(bool toEveryone = false)
    {
        if (logDamaged)
        {
            // Our log lost entries we may have acknowledged: it must not take part in log selection.
            // A normal primary answers no DoViewChange we do not send, so ask for its log through the
            // Recovery protocol instead (the view we promised stays promised).
            if (Status != ReplicaStatus.Recovering)
            {
                StartRecovery();
            }

            SendDamagedDoViewChange();
            return;
        }

        var entries = RetainedLog();
        var doViewChange = new DoViewChange(LogView, log.Head, CommitNumber, entries) { Header = Header(), TailUncertain = tailUncertain };
        if (Mutated(Mutation.DoViewChangeDropsLastEntry) && log.Count > 0)
        {
            doViewChange = doViewChange with { Op = log.Head.Previous, Entries = entries[..^1] };
        }

        if (IsPrimary)
        {
            RecordDoViewChange(doViewChange);
        }
        else
        {
            Send(options.PrimaryOf(View), doViewChange);
        }

        if (toEveryone)
        {
            for (var i = 0; i < options.ReplicaCount; i++)
            {
                var to = new ReplicaIndex((byte)i);
                if (to != Index && to != options.PrimaryOf(View))
                {
                    Send(to, doViewChange);
                }
            }
        }
    }

    /// <summary>
    /// Tells the primary of the view we promised that we answered but can vouch for nothing: it may then
    /// know that every replica has been heard from (<see cref="SelectLog"/>). Resent with Recovery.
    /// </summary>
    private void SendDamagedDoViewChange()
    {
        if (!IsPrimary)
        {
            Send(options.PrimaryOf(View), new DoViewChange(LogView, OpNumber.Zero, OpNumber.Zero, []) { Header = Header(), LogDamaged = true });
        }
    }

    private void OnDoViewChange(DoViewChange message)
    {
        if ((Status == ReplicaStatus.Recovering && message.View == View) || message.View < View
            || message.Sender.Value >= options.ReplicaCount || message.LogView > message.View
            || !IsRun(message.Entries, message.Op))
        {
            Ignore();
            return;
        }

        if (message.View > View)
        {
            // A DoViewChange is only sent by a replica that committed to its view after a quorum
            // proposed it, so joining is safe; it also rescues a replica stranded in that view.
            EnterViewChange(message.View);
        }

        if (options.PrimaryOf(message.View) != Index)
        {
            return;
        }

        if (Status == ReplicaStatus.Normal)
        {
            // The sender missed our StartView.
            Send(message.Sender, NewStartView());
            return;
        }

        RecordDoViewChange(message);
    }

    private void RecordDoViewChange(DoViewChange message)
    {
        if (message.LogDamaged)
        {
            doViewChanges.Remove(message.Sender);
            damagedDoViewChanges |= 1UL << message.Sender.Value;
        }
        else
        {
            doViewChanges[message.Sender] = message;
            damagedDoViewChanges &= ~(1UL << message.Sender.Value);
        }

        var quorum = Mutated(Mutation.ViewStartWithoutQuorum) ? Math.Max(1, options.Quorum - 1) : options.Quorum;
        if (doViewChanges.Count >= quorum && doViewChanges.ContainsKey(Index) && SelectLog(quorum) is { } best)
        {
            StartNewView(best);
        }
    }

    /// <summary>
    /// §4.2 step 3: the log to adopt, or null to wait for more DoViewChanges. With no uncertain tail it is
    /// the paper's: the largest log view, then the largest op. A sender whose tail is uncertain
    /// (<see cref="DoViewChange.TailUncertain"/>) may have acknowledged ops past its head that its log lost,
    /// so its log is trusted only as far as it goes:
    /// <list type="number">
    /// <item>With a quorum of certain logs, the best of those: the paper's argument holds among them (every
    /// committed op was acknowledged by a quorum, which shares a replica with them).</item>
    /// <item>Else, when some certain log has the largest log view L, the best log overall, once a quorum of
    /// senders is certain that no op past its head M was committed: a certain sender in L holds every op
    /// committed before L, so an op past M could only have been committed in L, by a quorum of replicas
    /// in L; a certain sender in L would hold it, and a sender with an older log view never acknowledged
    /// anything in L. Only the uncertain senders in L may have.</item>
    /// <item>Else, when every replica has answered (a damaged one with <see cref="DoViewChange.LogDamaged"/>),
    /// the best log overall: an op past M would have to be lost on every replica of the quorum that
    /// acknowledged it, more than the f disks the fault model lets lose acknowledged data at a time. This is
    /// what starts a view after a power cut of the whole cluster, where most replicas find a torn tail.
    /// When an older log goes past M, that log extended by what chains onto it (<see cref="ExtendByChain"/>).</item>
    /// </list>
    /// Also, when f senders answered with <see cref="DoViewChange.LogDamaged"/>, the best log overall: those f
    /// disks are the most the fault model lets lose acknowledged entries at a time, so no uncertain tail
    /// lost any, and every log is as certain as the paper assumes.
    /// Otherwise the primary waits: senders resend their DoViewChange, and the view change moves on to the
    /// next view when this one does not start in time. docs/protocol.md, "Uncertain tails", has the proof.
    /// </summary>
    private DoViewChange? SelectLog(int quorum)
    {
        DoViewChange best = doViewChanges[Index];
        DoViewChange? bestCertain = Uncertain(best) ? null : best;
        var certain = 0;
        foreach (var candidate in doViewChanges.Values)
        {
            if (Better(candidate, best))
            {
                best = candidate;
            }

            if (!Uncertain(candidate))
            {
                certain++;
                bestCertain = bestCertain is null || Better(candidate, bestCertain) ? candidate : bestCertain;
            }
        }

        if (certain >= quorum)
        {
            return bestCertain;
        }

        var damaged = (int)ulong.PopCount(damagedDoViewChanges);
        if (damaged >= options.F)
        {
            // f replicas already say their disks lost acknowledged entries: the fault model lets no other
            // disk lose any, so every uncertain tail here was a torn write, and the paper's choice holds.
            return best;
        }

        var certainInLogView = false;
        var nacks = 0;
        var olderLogGoesFurther = false;
        foreach (var candidate in doViewChanges.Values)
        {
            var inLogView = candidate.LogView == best.LogView;
            certainInLogView |= inLogView && !Uncertain(candidate);
            nacks += inLogView && Uncertain(candidate) ? 0 : 1;
            olderLogGoesFurther |= !inLogView && candidate.Op > best.Op;
        }

        var everyone = doViewChanges.Count + damaged >= options.ReplicaCount;
        if (certainInLogView)
        {
            return nacks >= quorum || everyone ? best : null;
        }

        if (!everyone)
        {
            return null;
        }

        return olderLogGoesFurther ? ExtendByChain(best) : best;
    }

    /// <summary>
    /// Rule 3 when every replica has answered and some older log goes past the best log's head M: the best
    /// log, extended one op at a time by the entry that chains onto the last one (its parent checksum names
    /// it), taken from the sender with the largest log view that holds such an entry. An op committed past M
    /// was committed in an older view (a quorum in L that lost it would leave no intact copy), so every op
    /// up to it was committed too and chains the same in every log that holds it; the sender with the
    /// largest log view holding the next one holds the committed one. Entries that do not chain were never
    /// committed and are dropped. Null (wait) when the entry at M is not at hand to chain onto, or when a
    /// sender's commit number goes past what chained (its committed entries were not all sent).
    /// </summary>
    private DoViewChange? ExtendByChain(DoViewChange best)
    {
        if (EntryAt(best.Op, best.LogView) is not { } tip)
        {
            return null;
        }

        var entries = new List<LogEntry>(best.Entries);
        var parent = tip.Checksum();
        while (NextInChain(tip.Op.Next, parent) is { } next)
        {
            if (next.Parent == 0)
            {
                // A primary that prepared an entry without holding its predecessor names none: whether it
                // chains cannot be told, so it may be a committed op, and the primary waits.
                return null;
            }

            entries.Add(next);
            tip = next;
            parent = next.Checksum();
        }

        foreach (var candidate in doViewChanges.Values)
        {
            if (candidate.CommitNumber > tip.Op)
            {
                return null;
            }
        }

        return tip.Op == best.Op ? best : best with { Op = tip.Op, Entries = [.. entries] };
    }

    /// <summary>
    /// The entry at <paramref name="op"/> in a log of <paramref name="logView"/> (they agree on it): ours, if
    /// our log is one and holds it (a DoViewChange carries only the committed entries its budget allows),
    /// else one a DoViewChange of that log view carries.
    /// </summary>
    private LogEntry? EntryAt(OpNumber op, View logView)
    {
        if (LogView == logView && log.Contains(op))
        {
            return log.Get(op);
        }

        foreach (var candidate in doViewChanges.Values)
        {
            if (candidate.LogView == logView && Carried(candidate, op) is { } entry)
            {
                return entry;
            }
        }

        return null;
    }

    /// <summary>The entry at <paramref name="op"/> whose parent is <paramref name="parent"/>, from the sender with the largest log view that carries one.</summary>
    private LogEntry? NextInChain(OpNumber op, ulong parent)
    {
        LogEntry? next = null;
        var from = default(View);
        foreach (var candidate in doViewChanges.Values)
        {
            if (Carried(candidate, op) is { } entry && (entry.Parent == parent || entry.Parent == 0) && (next is null || candidate.LogView > from))
            {
                next = entry;
                from = candidate.LogView;
            }
        }

        return next;
    }

    /// <summary>The entry at <paramref name="op"/> among those <paramref name="doViewChange"/> carries, if any.</summary>
    private static LogEntry? Carried(DoViewChange doViewChange, OpNumber op)
    {
        var entries = doViewChange.Entries;
        if (entries.Length == 0 || op < entries[0].Op || op > entries[^1].Op)
        {
            return null;
        }

        var entry = entries[(int)(op.Value - entries[0].Op.Value)];
        return entry.Op == op ? entry : null;
    }

    private bool Uncertain(DoViewChange doViewChange) => doViewChange.TailUncertain && !Mutated(Mutation.TrustUncertainTail);

    /// <summary>
    /// §4.2 step 3-4: adopt the selected log (<see cref="SelectLog"/>); take the largest commit number;
    /// become primary and tell everyone.
    /// </summary>
    private void StartNewView(DoViewChange best)
    {
        var commit = OpNumber.Zero;
        foreach (var candidate in doViewChanges.Values)
        {
            commit = OpNumber.Max(commit, candidate.CommitNumber);
        }

        if (best.Op < ExecutedOp)
        {
            // Filling a gap, we installed a peer's checkpoint of ops this quorum's logs lack: a later
            // view committed them, so this one must not start. That view's primary pulls us into it.
            return;
        }

        if (FillGapBeforeInstalling(best.Entries, best.Op, best.Sender))
        {
            // Started once the gap is filled, when the DoViewChanges come again.
            return;
        }

        InstallLog(best.Entries, best.Op);
        EnterNormal();
        ViewChangesCompleted++;
        AdvanceCommitNumber(commit);
        BecomePrimary();
        Broadcast(NewStartView());
    }

    private bool Better(DoViewChange candidate, DoViewChange best) =>
        Mutated(Mutation.LogSelectionIgnoresLogView)
            ? candidate.Op > best.Op
            : candidate.LogView > best.LogView || (candidate.LogView == best.LogView && candidate.Op > best.Op);

    private StartView NewStartView() => new(log.Head, CommitNumber, RetainedLog()) { Header = Header() };

    /// <summary>
    /// The log to send in a DoViewChange, StartView or RecoveryResponse: every entry after the commit
    /// number, and committed ones before them only up to <see cref="ReplicaOptions.ViewChangeCommittedBytesMax"/>.
    /// The receiver treats what precedes the first entry as committed, which is why nothing after the
    /// commit number is left out; it keeps its own entries that chain into these, and fetches the
    /// committed ops it still lacks into its log before it installs (<see cref="FillGapBeforeInstalling"/>).
    /// Without checkpoints the log is the only durable copy of the state, so committed
    /// entries then go as far as a quarter of a message allows, as they did before the budget.
    /// </summary>
    private LogEntry[] RetainedLog() =>
        log.Tail(CommitNumber, TakesCheckpoints ? Math.Min(options.ViewChangeCommittedBytesMax, options.MessageSizeMax / 4) : options.MessageSizeMax / 4);

    private void OnStartView(StartView message)
    {
        // A StartView of a view whose log we already hold may be a stale copy from before entries we
        // acknowledged were added: installing it would forget them.
        if ((!Mutated(Mutation.StartViewAcceptsOlderView) && (message.View < View || message.View <= LogView))
            || message.Sender != options.PrimaryOf(message.View) || message.Sender == Index
            || !IsRun(message.Entries, message.Op) || message.Op < ExecutedOp)
        {
            Ignore();
            return;
        }

        if (FillGapBeforeInstalling(message.Entries, message.Op, message.Sender))
        {
            // Installed once the gap is filled, when the primary sends its StartView again in answer
            // to our next DoViewChange (the view is started, so joining it is safe).
            if (message.View > View)
            {
                EnterViewChange(message.View);
            }

            return;
        }

        if (message.View > View || Mutated(Mutation.StartViewAcceptsOlderView))
        {
            View = message.View;
        }

        InstallLog(message.Entries, message.Op);
        EnterNormal();
        AdvanceCommitNumber(message.CommitNumber);
        ResetPrimaryTimeout();
        if (log.Head > CommitNumber)
        {
            // §4.2 step 5: acknowledge the uncommitted ops so the new primary can commit them.
            Send(message.Sender, new PrepareOk(log.Head) { Header = Header() });
        }
    }

    private void EnterNormal()
    {
        logDamaged = false;
        tailUncertain = false;
        gapEnd = OpNumber.Zero;
        Status = ReplicaStatus.Normal;
        LogView = View;
        proposedView = View;
        startViewChangeVotes = 0;
        doViewChanges.Clear();
        damagedDoViewChanges = 0;
        PersistHardState();
    }

    private void TickViewChange()
    {
        if (now >= viewChangeDeadline)
        {
            // The view did not start in time. Our DoViewChange, sent to everyone, pulls replicas
            // that never joined this view into it; and we propose the view after it, in case its
            // primary is down.
            SendDoViewChange(toEveryone: true);
            Propose(View.Next);
            viewChangeDeadline = now + (ulong)options.ViewChangeTimeoutTicks + Jitter(options.ViewChangeTimeoutTicks);
            return;
        }

        if (now >= viewChangeRetryDue)
        {
            viewChangeRetryDue = now + (ulong)options.RetryTicks;
            Broadcast(new StartViewChange { Header = Header() with { View = proposedView } });
            SendDoViewChange();
        }
    }

    /// <summary>
    /// Makes the log equal to an authoritative one (a StartView's, the chosen DoViewChange's, the
    /// primary's RecoveryResponse): <paramref name="entries"/> end at <paramref name="head"/> and
    /// everything before them is committed. Our own entries before them are kept where they are
    /// committed too, or where they chain into the first of them (<see cref="ChainsInto"/>). Callers
    /// fill a gap into the log first (<see cref="FillGapBeforeInstalling"/>), so the log is dropped only
    /// where our checkpoint already holds everything before the first entry (or with one replica).
    /// </summary>
    private void InstallLog(LogEntry[] entries, OpNumber head)
    {
        CancelEntryRepair();
        Invariant.That(head >= ExecutedOp, $"installed log ends at {head}, before executed op {ExecutedOp}");
        var (start, dropsLog) = Placement(entries, head);
        if (dropsLog)
        {
            // Everything before an authoritative log is committed: what we lack of it is fetched.
            ResetLog(start.Previous);
            CommitNumber = OpNumber.Max(CommitNumber, start.Previous);
        }
        else
        {
            var first = FirstDifference(entries, start);
            TruncateLogAfter(first.Previous);
            entries = entries[(int)(first - start)..];
        }

        foreach (var entry in entries)
        {
            AppendToLog(entry);
        }

        CommitNumber = OpNumber.Min(CommitNumber, log.Head);
    }

    /// <summary>
    /// Where an authoritative log ending at <paramref name="head"/> starts, and whether installing it
    /// drops our log: it does unless our entries reach its start, being committed or chaining into it
    /// (<see cref="ChainsInto"/>), and our log still holds the op before it.
    /// </summary>
    private (OpNumber Start, bool DropsLog) Placement(LogEntry[] entries, OpNumber head)
    {
        var start = new OpNumber(head.Value + 1 - (ulong)entries.Length);
        var keptHead = OpNumber.Min(OpNumber.Min(log.Head, CommitNumber), start.Previous);
        var reaches = keptHead == start.Previous || ChainsInto(entries, start);
        return (start, !reaches || start < log.Start);
    }

    /// <summary>
    /// True when our entries after the commit number up to <paramref name="start"/>-1 are those of the
    /// authoritative log that <paramref name="entries"/> begin at <paramref name="start"/>: the first
    /// entry's <see cref="LogEntry.Parent"/> names our entry before it by checksum, that entry's parent
    /// names the one before, and so on down to an op we know to be committed. A parent of 0 (its
    /// primary did not hold the op before) proves nothing, and nor does a gap in our log.
    /// </summary>
    private bool ChainsInto(LogEntry[] entries, OpNumber start)
    {
        if (entries.Length == 0)
        {
            return false;
        }

        var parent = entries[0].Parent;
        for (var op = start.Previous; op > CommitNumber; op = op.Previous)
        {
            if (parent == 0 || !log.Contains(op))
            {
                return false;
            }

            var ours = log.Get(op);
            if (ours.Checksum() != parent)
            {
                return false;
            }

            parent = ours.Parent;
        }

        return true;
    }

    /// <summary>True when <paramref name="entries"/> are consecutive ops ending at <paramref name="head"/>: a malformed log from the network is ignored, never installed.</summary>
    private static bool IsRun(LogEntry[] entries, OpNumber head)
    {
        if ((ulong)entries.Length > head.Value)
        {
            return false;
        }

        var op = new OpNumber(head.Value + 1 - (ulong)entries.Length);
        foreach (var entry in entries)
        {
            if (entry.Op != op)
            {
                return false;
            }

            op = op.Next;
        }

        return true;
    }

    /// <summary>The first op at which our log and <paramref name="entries"/> disagree (or ours ends).</summary>
    private OpNumber FirstDifference(LogEntry[] entries, OpNumber start)
    {
        var op = start;
        foreach (var entry in entries)
        {
            if (!log.Contains(op) || !log.Get(op).Equals(entry))
            {
                return op;
            }

            op = op.Next;
        }

        return op;
    }
}
