using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>
/// Protocol-aware repair of single log entries (after TigerBeetle's request_prepare). Storage that lost
/// entries but could still place every record after the damage hands the replica the rest of its log
/// (<see cref="DurableState.DamagedSuffix"/>) with a gap for each lost entry. Entries form a hash chain
/// (<see cref="LogEntry.Parent"/>), so the entry after a gap names the checksum of the one missing; the
/// replica asks its peers for exactly that entry, accepts only an entry with that checksum, and once every
/// gap is filled writes the suffix back and is an intact replica again: it keeps its log and commit number
/// and may vote. A gap whose identity is unknown (the newest entry lost, or no answer after a few rounds)
/// falls back to taking the whole log after the checkpoint from the peers (<see cref="FallBackFromEntryRepair"/>).
/// </summary>
public sealed partial class Replica
{
    /// <summary>Rounds of requests (each to the next peer) without any entry arriving, before giving up.</summary>
    private const int EntryRepairRoundsMax = 4;

    /// <summary>The log after <see cref="repairFrom"/> as storage read it; null where an entry is still lost.</summary>
    private LogEntry?[]? repairSuffix;
    private OpNumber repairFrom;
    private OpNumber repairCommit;
    private ulong repairRetryDue;
    private int repairRounds;

    /// <summary>Log entries this replica fetched from peers, verified and wrote back after its disk lost them; a counter for metrics.</summary>
    public long EntriesRepaired { get; private set; }

    /// <summary>True while this replica waits for peers to send log entries its disk lost.</summary>
    public bool IsRepairingEntries => repairSuffix is not null;

    /// <summary>
    /// Starts per-entry repair at restart when <paramref name="suffix"/> (the ops after the log's head)
    /// allows it: the last entry is intact (so every lost one is named, directly or once the one after it
    /// is repaired) and the intact entries chain. Returns false when the replica must take the safe path
    /// instead. A suffix with nothing lost (the damaged entry was replaced later) is written back at once.
    /// </summary>
    private bool TryBeginEntryRepair(IReadOnlyList<LogEntry?> suffix, OpNumber head, OpNumber commit)
    {
        if (suffix.Count == 0 || suffix[^1] is null || head != log.Head || options.ReplicaCount == 1)
        {
            return false;
        }

        var entries = new LogEntry?[suffix.Count];
        for (var i = 0; i < suffix.Count; i++)
        {
            var entry = suffix[i];
            if (entry is not null && entry.Op != new OpNumber(head.Value + 1 + (ulong)i))
            {
                return false;
            }

            // An intact entry after a gap must name the lost one; an intact pair must chain. (A gap after
            // a gap is named once the later one is repaired.)
            var next = i + 1 < suffix.Count ? suffix[i + 1] : null;
            if (next is not null && ((entry is null && next.Parent == 0) || (entry is not null && next.Parent != entry.Checksum())))
            {
                return false;
            }

            entries[i] = entry;
        }

        // Storage may still hold records past the head it returned; the suffix is written again once whole.
        ready.LogChanges.Add(new LogChange(LogChangeKind.TruncateAfter, log.Head, null));
        CommitNumber = OpNumber.Max(CommitNumber, OpNumber.Min(commit, log.Head));
        repairSuffix = entries;
        repairFrom = head.Next;
        repairCommit = commit;
        repairRounds = 0;
        if (Array.IndexOf(entries, null) < 0)
        {
            FinishEntryRepair();
        }
        else
        {
            RequestLostEntries();
        }

        return true;
    }

    private void TickEntryRepair()
    {
        if (now < repairRetryDue)
        {
            return;
        }

        if (++repairRounds > EntryRepairRoundsMax * (options.ReplicaCount - 1))
        {
            FallBackFromEntryRepair();
            return;
        }

        RequestLostEntries();
    }

    /// <summary>Asks the next peer in turn for every lost entry whose identity is known by now.</summary>
    private void RequestLostEntries()
    {
        var suffix = repairSuffix!;
        var target = new ReplicaIndex((byte)((Index.Value + 1 + (repairRounds % (options.ReplicaCount - 1))) % options.ReplicaCount));
        repairRetryDue = now + (ulong)options.RetryTicks;
        for (var i = suffix.Length - 2; i >= 0; i--)
        {
            if (suffix[i] is null && suffix[i + 1] is { } next)
            {
                Send(target, new RequestEntry(new OpNumber(repairFrom.Value + (ulong)i), next.Parent) { Header = Header() });
            }
        }
    }

    /// <summary>Any replica holding the entry with the asked-for checksum sends it; the checksum makes it safe whatever our status.</summary>
    private void OnRequestEntry(RequestEntry message)
    {
        if (message.Sender.Value >= options.ReplicaCount || message.Sender == Index || !log.Contains(message.Op)
            || ChecksumAt(message.Op) != message.Checksum)
        {
            Ignore();
            return;
        }

        Send(message.Sender, new RepairEntry(log.Get(message.Op)) { Header = Header() });
    }

    private void OnRepairEntry(RepairEntry message)
    {
        var entry = message.Entry;
        var suffix = repairSuffix;
        var i = suffix is null || entry.Op < repairFrom ? -1L : (long)(entry.Op - repairFrom);
        if (suffix is null || message.Sender.Value >= options.ReplicaCount || i < 0 || i >= suffix.Length - 1
            || suffix[i] is not null || suffix[i + 1] is not { } next
            || entry.Checksum() != next.Parent)
        {
            Ignore();
            return;
        }

        suffix[i] = entry;
        EntriesRepaired++;
        repairRounds = 0;
        if (Array.IndexOf(suffix, null) >= 0)
        {
            // The entry just repaired names the one before it, if that one is lost too.
            RequestLostEntries();
            return;
        }

        FinishEntryRepair();
    }

    /// <summary>
    /// Every gap is filled: the suffix goes back into the log (and to disk, in the same Ready as the hard
    /// state that clears <see cref="HardState.LogDamaged"/>, so the flag goes only once the entries are
    /// durable), and the replica restarts as one whose disk was intact.
    /// </summary>
    private void FinishEntryRepair()
    {
        var suffix = repairSuffix!;
        repairSuffix = null;
        var link = suffix[0]!.Parent;
        if (link != 0 && log.Contains(log.Head) && link != ChecksumAt(log.Head))
        {
            // The repaired suffix does not continue the log it was cut from: trust neither.
            FallBackFromEntryRepair();
            return;
        }

        foreach (var entry in suffix)
        {
            if (Mutated(Mutation.RepairNotWrittenBack))
            {
                log.Append(entry!);
            }
            else
            {
                AppendToLog(entry!);
            }
        }

        logDamaged = false;
        PersistHardState();
        AdvanceCommitNumber(repairCommit);
        StartRecovery();
    }

    /// <summary>
    /// The lost entries cannot be repaired one by one: trust nothing after the checkpoint, take the log
    /// from the peers through Recovery, and do not vote until a peer's log is installed.
    /// </summary>
    private void FallBackFromEntryRepair()
    {
        repairSuffix = null;
        ResetLog(ExecutedOp);
        CommitNumber = ExecutedOp;
        StartRecovery();
    }

    /// <summary>A peer's log was installed: it supersedes the repair.</summary>
    private void CancelEntryRepair() => repairSuffix = null;
}
