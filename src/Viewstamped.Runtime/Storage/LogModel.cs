namespace Viewstamped.Runtime.Storage;

/// <summary>Where a log entry's record is: its segment, the record's offset, and its body length.</summary>
internal readonly record struct EntryLocation(OpNumber Op, ulong Segment, long Offset, int BodyLength);

/// <summary>A record the scanner or the writer has placed, with its decoded body when the body is small.</summary>
internal readonly record struct RecordInfo(
    RecordHeader Header, ulong Segment, long Offset, HardState HardState = default, CheckpointReference Checkpoint = default, ulong VoidFrom = 0, ulong VoidTo = 0)
{
    public long End => Offset + Header.RecordLength;
}

/// <summary>
/// The durable state the write-ahead log describes, rebuilt by replaying its records in order with
/// exactly <see cref="MemoryStorage"/>'s semantics; entries are held as locations, not bytes.
/// </summary>
internal sealed class LogModel
{
    /// <summary>The retained entries, consecutive, as <see cref="MemoryStorage"/> would return them.</summary>
    public List<EntryLocation> Entries { get; } = [];

    /// <summary>
    /// Entries compaction dropped that are still on disk and follow the previous checkpoint: with them the
    /// previous checkpoint can stand in for a corrupt current one. Consecutive, ending before <see cref="Entries"/>.
    /// </summary>
    public List<EntryLocation> Archive { get; } = [];

    public OpNumber Head { get; set; }

    public HardState HardState { get; set; }

    public CheckpointReference? Current { get; set; }

    public CheckpointReference? Previous { get; set; }

    /// <summary>Hard-state and checkpoint records at or below this sequence number are older than the superblock and ignored.</summary>
    public ulong StateFloor { get; set; }

    /// <summary>Applies one record; returns why it cannot apply (the log contradicts itself), or null.</summary>
    public string? Apply(in RecordInfo record)
    {
        var header = record.Header;
        switch (header.Type)
        {
            case RecordType.Entry:
                if (header.Op != Head.Next)
                {
                    return $"record {header.Seq} appends op {header.Op} after op {Head}";
                }

                Entries.Add(new EntryLocation(header.Op, record.Segment, record.Offset, header.BodyLength));
                Head = header.Op;
                break;
            case RecordType.TruncateAfter:
                DropAfter(Entries, header.Op);
                DropAfter(Archive, header.Op);
                Head = OpNumber.Min(Head, header.Op);
                break;
            case RecordType.Reset:
                Entries.Clear();
                Archive.Clear();
                Head = header.Op;
                break;
            case RecordType.Compact:
                Compact(header.Op);
                break;
            case RecordType.HardState:
                if (header.Seq > StateFloor)
                {
                    HardState = record.HardState;
                }

                break;
            case RecordType.Checkpoint:
                if (header.Seq > StateFloor)
                {
                    if (Current is not { } current || current.Op != record.Checkpoint.Op)
                    {
                        Previous = Current;
                    }

                    Current = record.Checkpoint;
                    TrimArchive();
                }

                break;
            case RecordType.Void:
                break;
        }

        return null;
    }

    /// <summary>Drops archived entries no kept checkpoint needs.</summary>
    public void TrimArchive()
    {
        var keepAfter = (Previous ?? Current)?.Op;
        if (keepAfter is not { } after)
        {
            Archive.Clear();
            return;
        }

        var drop = 0;
        while (drop < Archive.Count && Archive[drop].Op <= after)
        {
            drop++;
        }

        Archive.RemoveRange(0, drop);
    }

    /// <summary>The oldest segment holding a retained or archived entry, if any.</summary>
    public ulong? OldestSegmentNeeded() =>
        Archive.Count > 0 ? Archive[0].Segment : Entries.Count > 0 ? Entries[0].Segment : null;

    private static void DropAfter(List<EntryLocation> entries, OpNumber op)
    {
        var keep = entries.Count;
        while (keep > 0 && entries[keep - 1].Op > op)
        {
            keep--;
        }

        entries.RemoveRange(keep, entries.Count - keep);
    }

    private void Compact(OpNumber before)
    {
        var drop = 0;
        while (drop < Entries.Count && Entries[drop].Op < before)
        {
            drop++;
        }

        if (drop == 0)
        {
            return;
        }

        if (Archive.Count > 0 && Archive[^1].Op.Next != Entries[0].Op)
        {
            Archive.Clear();
        }

        Archive.AddRange(Entries.GetRange(0, drop));
        Entries.RemoveRange(0, drop);
        TrimArchive();
    }
}
