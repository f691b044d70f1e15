using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>
/// Recovery (VR Revisited §4.3). Unlike the paper's replica, ours restarts with the views and log it
/// persisted (D1), so it never forgets a view it promised; the protocol tells it the current view
/// and brings its log up to the primary's.
/// </summary>
public sealed partial class Replica
{
    private readonly Dictionary<ReplicaIndex, RecoveryResponse> recoveryResponses = [];
    private UInt128 recoveryNonce;
    private ulong recoveryRetryDue;
    private ulong recoveryDeadline;
    private bool recoveryStarted;

    private void StartRecovery()
    {
        if (options.ReplicaCount == 1)
        {
            // A single replica is the whole cluster: its disk is the authority (an uncertain tail too:
            // no peer could say more about it).
            tailUncertain = false;
            Status = ReplicaStatus.Normal;
            LogView = View;
            BecomePrimary();
            return;
        }

        Status = ReplicaStatus.Recovering;
        recoveryStarted = true;
        recoveryNonce = prng.NextUInt128();
        recoveryResponses.Clear();
        recoveryDeadline = now + (ulong)options.ViewChangeTimeoutTicks + Jitter(options.ViewChangeTimeoutTicks);
        BroadcastRecovery();
    }

    private void BroadcastRecovery()
    {
        recoveryRetryDue = now + (ulong)options.RetryTicks;
        Broadcast(new Recovery(recoveryNonce) { Header = Header() });
    }

    private void TickRecovery()
    {
        if (!recoveryStarted)
        {
            // Still repairing lost entries after a restart: the Recovery protocol runs once they are back.
            return;
        }

        if (now >= recoveryRetryDue)
        {
            BroadcastRecovery();
            if (logDamaged && Status == ReplicaStatus.Recovering && View > LogView)
            {
                // A view change we promised may be waiting to hear from every replica.
                SendDamagedDoViewChange();
            }

            if (proposedView > View)
            {
                Broadcast(new StartViewChange { Header = Header() with { View = proposedView } });
            }
        }

        if (now >= recoveryDeadline && proposedView <= View)
        {
            // Too few replicas are normal to answer (the whole cluster restarted, say). Our log and
            // views are durable, so we may propose a view change like any replica that was slow.
            Propose(View.Next);
        }
    }

    /// <summary>§4.3 step 2: only a replica in normal status answers; only the primary sends its log.</summary>
    private void OnRecovery(Recovery message)
    {
        if (Status != ReplicaStatus.Normal || message.Sender.Value >= options.ReplicaCount || message.Sender == Index)
        {
            Ignore();
            return;
        }

        var response = IsPrimary
            ? new RecoveryResponse(message.Nonce, log.Head, CommitNumber, RetainedLog()) { Header = Header() }
            : new RecoveryResponse(message.Nonce, OpNumber.Zero, OpNumber.Zero, []) { Header = Header() };
        Send(message.Sender, response);
    }

    /// <summary>
    /// §4.3 step 3: with f+1 answers carrying our nonce, one of them from the primary of the latest
    /// view among them, adopt the primary's log. A view we promised before the crash stays promised.
    /// </summary>
    private void OnRecoveryResponse(RecoveryResponse message)
    {
        if (Status != ReplicaStatus.Recovering || message.Nonce != recoveryNonce
            || message.Sender.Value >= options.ReplicaCount || !IsRun(message.Entries, message.Op))
        {
            Ignore();
            return;
        }

        recoveryResponses[message.Sender] = message;
        if (recoveryResponses.Count < options.F + 1)
        {
            return;
        }

        var latest = recoveryResponses.Values.Max(response => response.View);
        if (!recoveryResponses.TryGetValue(options.PrimaryOf(latest), out var primary) || primary.View != latest
            || primary.Op < ExecutedOp)
        {
            return;
        }

        FinishRecovery(primary);
    }

    private void FinishRecovery(RecoveryResponse primary)
    {
        if (FillGapBeforeInstalling(primary.Entries, primary.Op, primary.Sender))
        {
            // The next round of responses finishes it (Recovery is resent every retry period).
            recoveryResponses.Clear();
            return;
        }

        InstallLog(primary.Entries, primary.Op);
        recoveryResponses.Clear();
        if (primary.View >= View)
        {
            View = primary.View;
            EnterNormal();
            ResetPrimaryTimeout();
        }
        else
        {
            // We promised a later view before crashing: keep the promise and resume that view change,
            // now with the primary's log, which holds every committed op: it may vote again.
            LogView = primary.View;
            logDamaged = false;
            tailUncertain = false;
            EnterViewChange(View.Next);
        }

        AdvanceCommitNumber(primary.CommitNumber);
    }
}
