using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>
/// Storage that keeps a replica's durable state in memory: it applies each <see cref="Ready"/>'s
/// persistence part and hands back a <see cref="DurableState"/> to restart from. It models a disk
/// where every write is durable at once; the simulator's disk adds faults on top of it.
/// </summary>
public sealed class MemoryStorage : IReplicaStorage
{
    // The retained entries are entries[first..]: consecutive ops ending at logHead. Compaction only
    // moves `first`; the dead prefix is dropped once it outgrows the live part, so trimming the log
    // does not copy the whole list every checkpoint.
    private readonly List<LogEntry> entries = [];
    private int first;
    private OpNumber logHead = OpNumber.Zero;

    /// <summary>The persisted hard state.</summary>
    public HardState HardState { get; private set; }

    /// <summary>The latest persisted checkpoint.</summary>
    public Checkpoint? Checkpoint { get; private set; }

    /// <summary>The number of log entries held.</summary>
    public int EntryCount => entries.Count - first;

    /// <summary>Applies the persistence part of <paramref name="ready"/>, in the order its contract gives.</summary>
    public void Persist(Ready ready)
    {
        foreach (var change in ready.LogChanges)
        {
            Apply(change);
        }

        if (ready.HardState is { } hardState)
        {
            HardState = hardState;
        }

        if (ready.Checkpoint is { } checkpoint)
        {
            Checkpoint = checkpoint;
        }

        if (ready.CompactBefore is { } compactBefore)
        {
            CompactBefore(compactBefore);
        }
    }

    /// <summary>What a restarted replica finds: a copy, so later writes do not change it.</summary>
    public DurableState Load() => new(HardState, Checkpoint, entries[first..].ToArray(), logHead);

    private void Apply(LogChange change)
    {
        switch (change.Kind)
        {
            case LogChangeKind.Append:
                Invariant.That(change.Entry!.Op == logHead.Next, $"storage append of op {change.Entry.Op} after {logHead}");
                entries.Add(change.Entry);
                logHead = change.Entry.Op;
                break;
            case LogChangeKind.TruncateAfter:
                var keep = CountBefore(change.Op.Next);
                entries.RemoveRange(first + keep, EntryCount - keep);
                logHead = OpNumber.Min(logHead, change.Op);
                break;
            case LogChangeKind.Reset:
                entries.Clear();
                first = 0;
                logHead = change.Op;
                break;
        }
    }

    private void CompactBefore(OpNumber op)
    {
        first += CountBefore(op);
        if (first > 64 && first > EntryCount)
        {
            entries.RemoveRange(0, first);
            first = 0;
        }
    }

    /// <summary>How many retained entries come before <paramref name="op"/>; they are consecutive, so no search is needed.</summary>
    private int CountBefore(OpNumber op)
    {
        if (EntryCount == 0 || op <= entries[first].Op)
        {
            return 0;
        }

        return (int)Math.Min(op - entries[first].Op, (ulong)EntryCount);
    }
}
