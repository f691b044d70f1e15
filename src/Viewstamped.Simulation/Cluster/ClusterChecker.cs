using System.Runtime.CompilerServices;
using Viewstamped.Messages;

namespace Viewstamped.Simulation;

/// <summary>A safety invariant of PROTOCOL-NOTES did not hold; the message says which and where.</summary>
public sealed class SafetyViolationException(string message) : Exception(message);

/// <summary>
/// A service the checker can audit: a hash of its whole state, which must be equal on every replica
/// that executed the same ops, and the first violation the service saw itself (for example an
/// operation executed twice), since an exception thrown by a service is turned into a reply.
/// </summary>
public interface IAuditedService
{
    /// <summary>A hash of the service's state; equal states give equal hashes.</summary>
    ulong StateHash { get; }

    /// <summary>The first violation the service detected, or null.</summary>
    string? Violation { get; }
}

/// <summary>
/// Checks the cluster-wide safety invariants of PROTOCOL-NOTES after every step: committed
/// prefixes agree and never change (1, 2), views never go back, also across restarts (3), one
/// primary and one log per view (4), only normal replicas execute (5), checkpoints of the same op
/// are byte-identical (8); and, for an <see cref="IAuditedService"/>, replicas that executed the same
/// number of ops hold the same service state and no operation executes twice (at-most-once).
/// Client-visible results are checked by the history checker.
/// </summary>
/// <remarks>
/// Every check is incremental: a step costs a few comparisons unless it committed, appended or
/// checkpointed something. Memory is bounded: what it remembers about old ops lives in rings of
/// <see cref="Window"/> ops.
/// </remarks>
public sealed class ClusterChecker
{
    /// <summary>How many recent ops the checker remembers committed entries and service states for.</summary>
    public const int Window = 1 << 16;

    private const int WindowMask = Window - 1;

    private readonly LogEntry?[] committed = new LogEntry?[Window];
    private readonly ulong[] stateOps = new ulong[Window];
    private readonly ulong[] stateHashes = new ulong[Window];
    private readonly LogEntry?[] newestByOp = new LogEntry?[Window];
    private readonly LogEntry?[] olderByOp = new LogEntry?[Window];
    private readonly Dictionary<ulong, ReplicaIndex> primaries = [];
    private readonly Dictionary<ulong, ulong> checkpoints = [];
    private readonly ReplicaWatch[] watches;

    /// <summary>Creates a checker for a cluster of <paramref name="replicaCount"/> replicas.</summary>
    public ClusterChecker(int replicaCount)
    {
        watches = new ReplicaWatch[replicaCount];
        for (var i = 0; i < replicaCount; i++)
        {
            watches[i] = new ReplicaWatch();
        }
    }

    /// <summary>The highest op known committed anywhere.</summary>
    public OpNumber HighestCommitted { get; private set; }

    /// <summary>The number of views in which some replica served as a normal primary, view 0 included.</summary>
    public int ViewsStarted => primaries.Count;

    /// <summary>The highest view any replica reached.</summary>
    public View HighestView { get; private set; }

    /// <summary>The checksum of the committed entry at <paramref name="op"/>, if it has been seen (and is recent).</summary>
    public ulong? CommittedChecksum(OpNumber op) => CommittedAt(op)?.Checksum();

    /// <summary>Checks one replica's state; call after each of its steps and ticks.</summary>
    public void Observe(Replica replica) => Observe(replica, null);

    /// <summary>
    /// Checks one replica's state and, when <paramref name="service"/> is an <see cref="IAuditedService"/>,
    /// its service's; call after each of the replica's steps and ticks.
    /// </summary>
    public void Observe(Replica replica, IService? service)
    {
        var index = replica.Index.Value;
        var watch = watches[index];
        var view = replica.View;
        if (view != watch.View)
        {
            Require(view > watch.View, $"r{index} view went back from {watch.View} to {view}");
            watch.View = view;
            HighestView = View.Max(HighestView, view);
        }

        Require(replica.LogView <= view, $"r{index} log view {replica.LogView} above view {view}");
        if (replica.Status == ReplicaStatus.Normal && replica.IsPrimary && watch.PrimaryView != view.Value + 1)
        {
            ObservePrimary(replica);
            watch.PrimaryView = view.Value + 1;
        }

        ObserveLog(replica, watch);
        if (replica.CheckpointOp != watch.CheckpointOp)
        {
            ObserveCheckpoint(replica);
            watch.CheckpointOp = replica.CheckpointOp;
        }

        if (service is IAuditedService audited)
        {
            ObserveService(replica, watch, audited);
        }
    }

    /// <summary>A replica restarted: its commit watermark starts over, its views must not.</summary>
    public void Restarted(Replica replica) => Restarting(replica.Index.Value);

    /// <summary>
    /// Replica <paramref name="index"/> sent <paramref name="message"/>: from now on it has promised the
    /// message's view (D1), except with a StartViewChange, which only proposes one.
    /// </summary>
    public void Sent(int index, Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var watch = watches[index];
        if (message is not StartViewChange && message.View > watch.PromisedView)
        {
            watch.PromisedView = message.View;
        }
    }

    /// <summary>
    /// Replica <paramref name="index"/>'s disk read back <paramref name="loaded"/> after a crash, having made
    /// <paramref name="synced"/> durable before it. Unless the disk reports damage (<see cref="DurableState.LogDamaged"/>,
    /// which keeps the replica from voting until it repairs from its peers), it must return exactly the log it
    /// made durable: an entry it drops silently may be one the replica acknowledged, and a quorum that counts
    /// on it could lose a committed op. Cutting a rotten, durable batch as if it were a torn write is such a
    /// drop. One cut is allowed: when its newest synced batch had no durable summary at the crash
    /// (<paramref name="beforeNewestBatch"/> is then what the disk held before that batch), it may come back
    /// without that whole batch (rotten, or lost whole), provided it reports an uncertain tail
    /// (<see cref="DurableState.TailUncertain"/>, which its DoViewChange carries).
    /// </summary>
    public void ReadBack(int index, DurableState synced, DurableState loaded, DurableState? beforeNewestBatch)
    {
        ArgumentNullException.ThrowIfNull(synced);
        ArgumentNullException.ThrowIfNull(loaded);
        if (loaded.LogDamaged || (beforeNewestBatch is not null && loaded.TailUncertain && !Loses(beforeNewestBatch, loaded, out _)))
        {
            // Reported: a damaged log keeps the replica from voting, and an uncertain tail makes its
            // DoViewChange say so, so that the new primary counts on it for nothing past its head. Only a
            // newest batch whose summary was not durable may be cut that way; any other cut is a silent loss.
            return;
        }

        if (Loses(synced, loaded, out var lost))
        {
            var where = lost is null ? string.Empty : $"; op {lost.Op.Value} is missing or different";
            throw new SafetyViolationException(
                $"r{index}'s disk read back a log ending at op {loaded.LogHead.Value} ({loaded.Entries.Count} entries) without reporting damage, "
                + $"but it had made a log ending at op {synced.LogHead.Value} ({synced.Entries.Count} entries) durable{where}: entries it may have acknowledged were lost silently");
        }
    }

    /// <summary>True when <paramref name="loaded"/> is not the log of <paramref name="synced"/>: <paramref name="lost"/> is then the first entry missing or different (null when only the head differs).</summary>
    private static bool Loses(DurableState synced, DurableState loaded, out LogEntry? lost)
    {
        // Compaction may leave more or fewer entries below the checkpoint (the checkpoint covers them);
        // every entry above it that a sync made durable must come back unchanged.
        var floor = loaded.Checkpoint?.Op ?? OpNumber.Zero;
        var byOp = new Dictionary<ulong, ulong>(loaded.Entries.Count);
        foreach (var entry in loaded.Entries)
        {
            byOp[entry.Op.Value] = entry.Checksum();
        }

        lost = null;
        foreach (var entry in synced.Entries)
        {
            if (entry.Op > floor && (!byOp.TryGetValue(entry.Op.Value, out var checksum) || checksum != entry.Checksum()))
            {
                lost = entry;
                break;
            }
        }

        return lost is not null || loaded.LogHead != synced.LogHead;
    }

    /// <summary>
    /// Replica <paramref name="index"/> is about to restart: forget what it had shown, except its views.
    /// With storage where every write is durable at once (<paramref name="durable"/> null) the restarted
    /// replica must come back in the view it had reached. On a simulated disk, whose crash loses what was
    /// not synced, what the replica did after its last sync never happened, as long as nothing it sent
    /// vouched for it; so the replica must come back in a view at least as high as any it promised in a
    /// message (<see cref="Sent"/>), and the entries it made as primary of a view it never promised are
    /// forgotten (it may make different ones when it starts that view again). A single replica commits,
    /// executes and checkpoints on its own, so what it did beyond <paramref name="durable"/> is forgotten too.
    /// </summary>
    public void Restarting(int index, DurableState? durable = null)
    {
        var watch = watches[index];
        var view = durable is null ? watch.View : watch.PromisedView;
        if (durable is not null)
        {
            ForgetUnsentEntries(index, watch);
            if (watches.Length == 1)
            {
                ForgetBeyond(durable);
            }
        }

        watches[index] = new ReplicaWatch { View = view, PromisedView = view };
    }

    /// <summary>Forgets the entries a crashed replica made as primary of views it never promised: nobody else saw them.</summary>
    private void ForgetUnsentEntries(int index, ReplicaWatch watch)
    {
        for (var op = watch.CheckedCommit.Next; op <= watch.Shape.Head && op.Value - watch.CheckedCommit.Value <= Window; op = op.Next)
        {
            var slot = (int)(op.Value & WindowMask);
            if (olderByOp[slot] is { } older && older.Op == op && Unsent(older))
            {
                olderByOp[slot] = null;
            }

            if (newestByOp[slot] is { } newest && newest.Op == op && Unsent(newest))
            {
                (newestByOp[slot], olderByOp[slot]) = (olderByOp[slot], null);
            }
        }

        bool Unsent(LogEntry entry) => entry.View > watch.PromisedView && primaries.TryGetValue(entry.View.Value, out var primary) && primary.Value == index;
    }

    /// <summary>A single replica lost what it committed, executed and checkpointed after <paramref name="durable"/>: it was never acknowledged.</summary>
    private void ForgetBeyond(DurableState durable)
    {
        var kept = OpNumber.Max(durable.LogHead, durable.Checkpoint?.Op ?? OpNumber.Zero);
        for (var slot = 0; slot < Window; slot++)
        {
            if (committed[slot] is { } entry && entry.Op > kept)
            {
                committed[slot] = null;
            }

            if (stateOps[slot] > kept.Value)
            {
                stateOps[slot] = 0;
            }

            if (newestByOp[slot] is { } newest && newest.Op > kept)
            {
                newestByOp[slot] = null;
            }

            if (olderByOp[slot] is { } older && older.Op > kept)
            {
                olderByOp[slot] = null;
            }
        }

        foreach (var op in checkpoints.Keys.Where(op => op > kept.Value).ToList())
        {
            checkpoints.Remove(op);
        }

        HighestCommitted = OpNumber.Min(HighestCommitted, kept);
    }

    private LogEntry? CommittedAt(OpNumber op) => committed[(int)(op.Value & WindowMask)] is { } entry && entry.Op == op ? entry : null;

    private void ObservePrimary(Replica replica)
    {
        if (primaries.TryGetValue(replica.View.Value, out var primary))
        {
            Require(primary == replica.Index, $"two primaries in view {replica.View}: r{primary.Value} and r{replica.Index.Value}");
        }
        else
        {
            primaries[replica.View.Value] = replica.Index;
        }
    }

    private void ObserveLog(Replica replica, ReplicaWatch watch)
    {
        var index = replica.Index.Value;
        var commit = replica.CommitNumber;
        var head = replica.Op;
        var shape = new LogShape(head, replica.LogStart, replica.View, replica.LogView, replica.Status);
        if (shape == watch.Shape && commit <= watch.CheckedCommit)
        {
            // Nothing that could change the log or commit anything happened: the log only changes by
            // appends (the head moves), installs (the view, log view or status moves) or resets (the start moves).
            return;
        }

        // Appends move only the head; anything else (an installed log, a reset, a new view or status) may have replaced entries.
        var installed = shape with { Head = watch.Shape.Head } != watch.Shape;
        var appended = shape.Head != watch.Shape.Head;
        watch.Shape = shape;
        if (commit < watch.CheckedCommit
            || (installed && watch.CheckedEntry is { } last && replica.EntryAt(last.Op) is { } now && !ReferenceEquals(now, last)))
        {
            // The log changed below what was checked (or the commit number went down): check it again.
            watch.CheckedCommit = OpNumber.Min(commit, replica.LogStart.Previous);
            watch.CheckedEntry = null;
        }

        var from = OpNumber.Max(watch.CheckedCommit.Next, replica.LogStart);
        var to = OpNumber.Min(commit, head);
        for (var op = from; op <= to; op = op.Next)
        {
            var entry = replica.EntryAt(op)!;
            var slot = (int)(op.Value & WindowMask);
            if (committed[slot] is { } known && known.Op == op)
            {
                Require(ReferenceEquals(known, entry) || known.Equals(entry),
                    $"r{index} committed op {op} differs from the op committed before ({Describe(entry)} against {Describe(known)})");
            }
            else if (committed[slot] is null || committed[slot]!.Op < op)
            {
                committed[slot] = entry;
            }

            HighestCommitted = OpNumber.Max(HighestCommitted, op);
            watch.CheckedEntry = entry;
        }

        watch.CheckedCommit = OpNumber.Max(watch.CheckedCommit, to);
        // New entries are made only by a normal primary; other replicas only receive them, or install logs.
        if (installed || (appended && replica.Status == ReplicaStatus.Normal && replica.IsPrimary))
        {
            ObserveNewestEntries(replica, watch);
        }
    }

    /// <summary>
    /// At most one log per view: an entry of view v at op n is the same on every replica. Entries are
    /// checked once, when first seen: the walk down from the head stops at the first entry already known.
    /// For each recent op the checker remembers the entries of its two newest views.
    /// </summary>
    private void ObserveNewestEntries(Replica replica, ReplicaWatch watch)
    {
        var head = replica.Op;
        if (head < replica.LogStart)
        {
            return;
        }

        var headEntry = replica.EntryAt(head)!;
        if (ReferenceEquals(headEntry, watch.Head))
        {
            return;
        }

        watch.Head = headEntry;
        for (var op = head; op >= replica.LogStart && op.Value > 0; op = op.Previous)
        {
            var entry = replica.EntryAt(op)!;
            if (KnownEntry(entry) is { } known)
            {
                Require(ReferenceEquals(known, entry) || known.Equals(entry),
                    $"two different entries for op {op} in view {entry.View} (r{replica.Index.Value}: {Describe(entry)} against {Describe(known)})");
                break;
            }

            RememberEntry(entry);
        }
    }

    /// <summary>The entry remembered for the same op and view as <paramref name="entry"/>, if any.</summary>
    private LogEntry? KnownEntry(LogEntry entry)
    {
        var slot = (int)(entry.Op.Value & WindowMask);
        if (newestByOp[slot] is { } newest && newest.Op == entry.Op && newest.View == entry.View)
        {
            return newest;
        }

        return olderByOp[slot] is { } older && older.Op == entry.Op && older.View == entry.View ? older : null;
    }

    /// <summary>Remembers an entry, keeping the two newest (op, view) pairs of its slot.</summary>
    private void RememberEntry(LogEntry entry)
    {
        var slot = (int)(entry.Op.Value & WindowMask);
        var newest = newestByOp[slot];
        if (newest is null || Newer(entry, newest))
        {
            olderByOp[slot] = newest;
            newestByOp[slot] = entry;
        }
        else if (olderByOp[slot] is not { } older || Newer(entry, older))
        {
            olderByOp[slot] = entry;
        }
    }

    private static bool Newer(LogEntry a, LogEntry b) => a.Op != b.Op ? a.Op > b.Op : a.View > b.View;

    private void ObserveCheckpoint(Replica replica)
    {
        var op = replica.CheckpointOp.Value;
        if (op == 0)
        {
            return;
        }

        var checksum = replica.LatestCheckpointChecksum;
        if (checkpoints.TryGetValue(op, out var known))
        {
            Require(known == checksum, $"r{replica.Index.Value} checkpoint at op {op} differs from another replica's");
        }
        else
        {
            checkpoints[op] = checksum;
        }
    }

    private void ObserveService(Replica replica, ReplicaWatch watch, IAuditedService service)
    {
        if (service.Violation is { } violation)
        {
            throw new SafetyViolationException($"r{replica.Index.Value} service: {violation}");
        }

        var executed = replica.ExecutedOp;
        if (executed == watch.Executed)
        {
            return;
        }

        watch.Executed = executed;
        var slot = (int)(executed.Value & WindowMask);
        var hash = service.StateHash;
        if (stateOps[slot] == executed.Value)
        {
            Require(stateHashes[slot] == hash,
                $"r{replica.Index.Value} service state after op {executed} differs from another replica's at the same op");
        }
        else if (stateOps[slot] < executed.Value)
        {
            stateOps[slot] = executed.Value;
            stateHashes[slot] = hash;
        }
    }

    private static string Describe(LogEntry entry) =>
        $"view {entry.View}, client {entry.Client}, request {entry.RequestNumber}";

    /// <summary>Throws when <paramref name="condition"/> is false; the message is only formatted then.</summary>
    private static void Require(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref FailureMessage message)
    {
        if (!condition)
        {
            throw new SafetyViolationException(message.ToString());
        }
    }

    /// <summary>What a replica's log looks like from outside: when none of it moves, its entries did not change.</summary>
    private readonly record struct LogShape(OpNumber Head, OpNumber Start, View View, View LogView, ReplicaStatus Status);

    /// <summary>What the checker last saw of one replica.</summary>
    private sealed class ReplicaWatch
    {
        public LogShape Shape;

        public View View;
        public View PromisedView;
        public ulong PrimaryView;
        public OpNumber CheckedCommit;
        public LogEntry? CheckedEntry;
        public LogEntry? Head;
        public OpNumber CheckpointOp;
        public OpNumber Executed;
    }
}
