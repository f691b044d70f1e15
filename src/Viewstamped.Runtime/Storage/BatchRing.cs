using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// What the batch ring says about one log batch: written only after the batch's fsync returned, so a
/// summary on disk proves the batch had been made durable (and could have been acknowledged).
/// </summary>
/// <param name="Batch">The batch number.</param>
/// <param name="FirstSeq">The sequence number of its first record.</param>
/// <param name="LastSeq">The sequence number of its last record.</param>
/// <param name="Segment">The segment it was written to (a batch never spans segments).</param>
/// <param name="StartOffset">Where its first record starts in the segment.</param>
/// <param name="EndOffset">Where its last record ends.</param>
/// <param name="LastChecksum">The header checksum of its last record.</param>
/// <param name="FirstOp">The op of its first entry record, 0 when it has none.</param>
/// <param name="LastOp">The op of its last entry record, 0 when it has none.</param>
internal readonly record struct BatchSummary(
    ulong Batch, ulong FirstSeq, ulong LastSeq, ulong Segment, long StartOffset, long EndOffset, ulong LastChecksum, ulong FirstOp, ulong LastOp)
{
    /// <summary>A sentence naming the batch, for problem reports.</summary>
    public string Describe() =>
        $"batch {Batch} (records {FirstSeq} to {LastSeq}{(FirstOp == 0 ? string.Empty : FirstOp == LastOp ? $", op {FirstOp}" : $", ops {FirstOp} to {LastOp}")}, segment {Segment} offsets {StartOffset} to {EndOffset})";
}

/// <summary>
/// The batch ring (file <c>batch-ring</c>): a slot of 128 bytes per log batch, batch number modulo
/// <see cref="Slots"/>, each holding a salted, checksummed <see cref="BatchSummary"/>. A slot is
/// written after its batch's fsync returned and before the batch's callers are released, and is made
/// durable by a thread of its own when the log goes idle (<see cref="FileStorageOptions.SummarySyncDelay"/>)
/// and on close, never on the acknowledgement path. The scanner treats damage at or below the newest summary's last
/// sequence number as corruption: the summary proves the batch was complete, so it was not torn.
/// docs/storage.md argues which batches can be acknowledged before their summary is durable.
/// </summary>
internal sealed class BatchRing : IDisposable
{
    public const int SlotSize = 128;
    public const int Slots = 256;
    public const int FileSize = SlotSize * Slots;

    private static readonly uint Magic = BinaryPrimitives.ReadUInt32LittleEndian("VBSM"u8);
    private readonly SafeFileHandle handle;
    private readonly ulong salt;
    private readonly byte[] slot = new byte[SlotSize];

    private BatchRing(SafeFileHandle handle, ulong salt)
    {
        this.handle = handle;
        this.salt = salt;
    }

    /// <summary>Opens the ring in <paramref name="directory"/>, creating it (zeroed, synced, and the directory synced) when it is missing.</summary>
    public static BatchRing Open(string directory, ulong salt)
    {
        var path = Path.Combine(directory, StorageLayout.BatchRingFileName);
        if (!File.Exists(path))
        {
            Durability.WriteFileAtomically(path, new byte[FileSize]);
        }

        return new BatchRing(File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete), salt);
    }

    /// <summary>Writes <paramref name="summary"/> to its slot, unsynced. Call only after the batch's fsync returned.</summary>
    public void Write(in BatchSummary summary)
    {
        Encode(summary, salt, slot);
        RandomAccess.Write(handle, slot, (long)(summary.Batch % Slots) * SlotSize);
    }

    /// <summary>Makes every summary written before the call durable; may run beside <see cref="Write"/> on another thread.</summary>
    public void Sync() => Durability.SyncData(handle);

    /// <summary>
    /// The summary with the highest last sequence number among the valid slots of the ring in
    /// <paramref name="directory"/>; null when there is no ring (a directory written before it existed)
    /// or no valid slot. A torn or corrupt slot, or one from another replica, fails its checksum and is skipped.
    /// </summary>
    public static BatchSummary? ReadNewest(string directory, ulong salt)
    {
        var path = Path.Combine(directory, StorageLayout.BatchRingFileName);
        if (!File.Exists(path))
        {
            return null;
        }

        var data = File.ReadAllBytes(path);
        BatchSummary? newest = null;
        for (var at = 0; at + SlotSize <= data.Length; at += SlotSize)
        {
            if (TryDecode(data.AsSpan(at, SlotSize), salt, out var summary) && (long)(summary.Batch % Slots) * SlotSize == at
                && (newest is not { } n || summary.LastSeq > n.LastSeq))
            {
                newest = summary;
            }
        }

        return newest;
    }

    public static void Encode(in BatchSummary summary, ulong salt, Span<byte> slot)
    {
        slot.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(slot[8..], Magic);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[16..], summary.Batch);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[24..], summary.FirstSeq);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[32..], summary.LastSeq);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[40..], summary.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(slot[48..], summary.StartOffset);
        BinaryPrimitives.WriteInt64LittleEndian(slot[56..], summary.EndOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[64..], summary.LastChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[72..], summary.FirstOp);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[80..], summary.LastOp);
        BinaryPrimitives.WriteUInt64LittleEndian(slot, XxHash3.HashToUInt64(slot[8..SlotSize], (long)salt));
    }

    public static bool TryDecode(ReadOnlySpan<byte> slot, ulong salt, out BatchSummary summary)
    {
        summary = default;
        if (BinaryPrimitives.ReadUInt64LittleEndian(slot) != XxHash3.HashToUInt64(slot[8..SlotSize], (long)salt)
            || BinaryPrimitives.ReadUInt32LittleEndian(slot[8..]) != Magic)
        {
            return false;
        }

        summary = new BatchSummary(
            BinaryPrimitives.ReadUInt64LittleEndian(slot[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(slot[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(slot[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(slot[40..]),
            BinaryPrimitives.ReadInt64LittleEndian(slot[48..]),
            BinaryPrimitives.ReadInt64LittleEndian(slot[56..]),
            BinaryPrimitives.ReadUInt64LittleEndian(slot[64..]),
            BinaryPrimitives.ReadUInt64LittleEndian(slot[72..]),
            BinaryPrimitives.ReadUInt64LittleEndian(slot[80..]));
        return summary.LastSeq >= summary.FirstSeq;
    }

    public void Dispose() => handle.Dispose();
}
