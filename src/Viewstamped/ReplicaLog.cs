using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>
/// The in-memory window of the log a replica retains: consecutive entries from <see cref="Start"/>
/// to <see cref="Head"/>. Entries before <see cref="Start"/> were compacted into a checkpoint or
/// are still to be fetched; an empty log has <c>Head == Start - 1</c>.
/// </summary>
internal sealed class ReplicaLog
{
    private readonly List<LogEntry> entries = [];

    public ReplicaLog(OpNumber head) => Start = head.Next;

    /// <summary>The first retained op.</summary>
    public OpNumber Start { get; private set; }

    /// <summary>The last op (op-number of the paper).</summary>
    public OpNumber Head => new(Start.Value + (ulong)entries.Count - 1);

    public int Count => entries.Count;

    public bool Contains(OpNumber op) => op >= Start && op <= Head;

    public LogEntry Get(OpNumber op)
    {
        Invariant.That(Contains(op), $"op {op} is outside the log {Start}..{Head}");
        return entries[(int)(op - Start)];
    }

    public void Append(LogEntry entry)
    {
        Invariant.That(entry.Op == Head.Next, $"append of op {entry.Op} after head {Head}");
        entries.Add(entry);
    }

    /// <summary>Drops every entry after <paramref name="op"/>.</summary>
    public void TruncateAfter(OpNumber op)
    {
        if (op < Head)
        {
            var keep = op < Start ? 0 : (int)(op - Start) + 1;
            entries.RemoveRange(keep, entries.Count - keep);
        }
    }

    /// <summary>Drops every entry before <paramref name="op"/> (compaction).</summary>
    public void CompactBefore(OpNumber op)
    {
        if (op > Start)
        {
            var drop = (int)Math.Min(op - Start, (ulong)entries.Count);
            entries.RemoveRange(0, drop);
            Start = op;
        }
    }

    /// <summary>Empties the log so that it ends at <paramref name="head"/>.</summary>
    public void Reset(OpNumber head)
    {
        entries.Clear();
        Start = head.Next;
    }

    /// <summary>
    /// Up to <paramref name="countMax"/> entries from <paramref name="from"/> on, and no more than
    /// <paramref name="bytesMax"/> bytes of them (but always at least one).
    /// </summary>
    public LogEntry[] Slice(OpNumber from, int countMax, long bytesMax)
    {
        if (from > Head)
        {
            return [];
        }

        Invariant.That(from >= Start, $"slice from {from} before log start {Start}");
        var index = (int)(from - Start);
        var count = 0;
        long bytes = 0;
        while (index + count < entries.Count && count < countMax)
        {
            bytes += SizeOf(entries[index + count]);
            if (count > 0 && bytes > bytesMax)
            {
                break;
            }

            count++;
        }

        return Copy(index, count);
    }

    /// <summary>
    /// Every entry after <paramref name="mustInclude"/>, and before them as many of the newest entries
    /// up to it as fit in <paramref name="committedBytesMax"/> bytes: a log sent in a view change must
    /// carry every op that may not be committed, and may leave out older, committed ones.
    /// </summary>
    public LogEntry[] Tail(OpNumber mustInclude, long committedBytesMax)
    {
        var index = entries.Count;
        while (index > 0 && entries[index - 1].Op > mustInclude)
        {
            index--;
        }

        long committedBytes = 0;
        while (index > 0)
        {
            committedBytes += SizeOf(entries[index - 1]);
            if (committedBytes > committedBytesMax)
            {
                break;
            }

            index--;
        }

        return Copy(index, entries.Count - index);
    }

    /// <summary>A fresh array of <paramref name="count"/> entries from <paramref name="index"/>: one copy, straight from the list.</summary>
    private LogEntry[] Copy(int index, int count)
    {
        if (count == 0)
        {
            return [];
        }

        var copy = new LogEntry[count];
        entries.CopyTo(index, copy, 0, count);
        return copy;
    }

    /// <summary>
    /// The first op of the longest run of entries that ends at <paramref name="last"/> (or at the head,
    /// if that comes first), starts no earlier than <paramref name="floor"/>, and whose sizes add up to
    /// at most <paramref name="bytesMax"/>: where a byte-bounded suffix starts. <paramref name="last"/>'s
    /// next op when not even its own entry fits or the log holds none of the run.
    /// </summary>
    public OpNumber SuffixStart(OpNumber last, OpNumber floor, long bytesMax)
    {
        var end = OpNumber.Min(last, Head);
        if (end < Start || end < floor)
        {
            return last.Next;
        }

        var index = (int)(end - Start);
        var lowest = floor > Start ? (int)(floor - Start) : 0;
        long bytes = 0;
        while (index >= lowest)
        {
            bytes += SizeOf(entries[index]);
            if (bytes > bytesMax)
            {
                break;
            }

            index--;
        }

        return index == (int)(end - Start) ? last.Next : new OpNumber(Start.Value + (ulong)(index + 1));
    }

    /// <summary>An entry's size on the wire, near enough for budgets.</summary>
    public static long SizeOf(LogEntry entry) => 64 + entry.Operation.Length + entry.Prediction.Length;

}
