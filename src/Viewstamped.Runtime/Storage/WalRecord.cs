using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Messages;

namespace Viewstamped.Runtime.Storage;

/// <summary>What a write-ahead log record says.</summary>
internal enum RecordType : byte
{
    /// <summary>Append a log entry (body: the entry).</summary>
    Entry = 1,

    /// <summary>Drop every entry after the header's op.</summary>
    TruncateAfter = 2,

    /// <summary>Drop every entry; the log ends at the header's op.</summary>
    Reset = 3,

    /// <summary>The hard state (body: view, log view, commit number).</summary>
    HardState = 4,

    /// <summary>Drop entries before the header's op (compaction).</summary>
    Compact = 5,

    /// <summary>A checkpoint file became current (body: state checksum, size; header op: its op).</summary>
    Checkpoint = 6,

    /// <summary>Records with sequence numbers in [from, to] are void (body: from, to): written after a corrupt region the log was cut at.</summary>
    Void = 7,
}

/// <summary>A decoded record header. Layout (64 bytes, little-endian), then the body padded to 8 bytes:
/// <code>
///  0 u64 header checksum: XXH3-64 (seed = salt) of bytes 8..63
///  8 u32 magic "VREC"     12 u8 type     13 u8 flags (1 = last record of its batch)     14 u16 zero
/// 16 u64 sequence number (1, 2, 3, ... across segments)
/// 24 u64 batch number (one per fsync)
/// 32 u64 previous record's header checksum (the hash chain)
/// 40 u64 body checksum: XXH3-64 (seed = salt) of the body
/// 48 u32 body length     52 u32 zero
/// 56 u64 op (the entry's op, or the op of a truncate, reset, compact or checkpoint)
/// </code></summary>
internal readonly record struct RecordHeader(
    ulong Checksum, RecordType Type, bool BatchEnd, ulong Seq, ulong Batch, ulong Prev, ulong BodyChecksum, int BodyLength, OpNumber Op)
{
    public const byte BatchEndFlag = 1;

    /// <summary>The size of the whole record on disk: header, body and padding.</summary>
    public int RecordLength => StorageLayout.RecordHeaderSize + StorageLayout.Align8(BodyLength);

    /// <summary>Writes the header fields into <paramref name="header"/> and returns the header checksum it computed.</summary>
    public static ulong Write(Span<byte> header, ulong salt, RecordType type, bool batchEnd, ulong seq, ulong batch, ulong prev, ulong bodyChecksum, int bodyLength, OpNumber op)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], StorageLayout.RecordMagic);
        header[12] = (byte)type;
        header[13] = batchEnd ? BatchEndFlag : (byte)0;
        header[14] = 0;
        header[15] = 0;
        BinaryPrimitives.WriteUInt64LittleEndian(header[16..], seq);
        BinaryPrimitives.WriteUInt64LittleEndian(header[24..], batch);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], prev);
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], bodyChecksum);
        BinaryPrimitives.WriteUInt32LittleEndian(header[48..], (uint)bodyLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[52..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(header[56..], op.Value);
        var checksum = XxHash3.HashToUInt64(header[8..StorageLayout.RecordHeaderSize], (long)salt);
        BinaryPrimitives.WriteUInt64LittleEndian(header, checksum);
        return checksum;
    }

    /// <summary>Reads a header; false when it fails its checksum, magic or sanity checks.</summary>
    public static bool TryRead(ReadOnlySpan<byte> header, ulong salt, out RecordHeader result)
    {
        result = default;
        if (header.Length < StorageLayout.RecordHeaderSize
            || BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != StorageLayout.RecordMagic)
        {
            return false;
        }

        var checksum = BinaryPrimitives.ReadUInt64LittleEndian(header);
        if (checksum != XxHash3.HashToUInt64(header[8..StorageLayout.RecordHeaderSize], (long)salt))
        {
            return false;
        }

        var type = (RecordType)header[12];
        var bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(header[48..]);
        if (type is < RecordType.Entry or > RecordType.Void || bodyLength > StorageLayout.RecordBodyMax)
        {
            return false;
        }

        result = new RecordHeader(
            checksum,
            type,
            (header[13] & BatchEndFlag) != 0,
            BinaryPrimitives.ReadUInt64LittleEndian(header[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[40..]),
            (int)bodyLength,
            new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(header[56..])));
        return true;
    }
}

/// <summary>Record bodies: log entries, hard states, checkpoint references and void ranges.</summary>
internal static class RecordBody
{
    private const int EntryFixedSize = 8 + 8 + 1 + 16 + 8 + 4 + 4;

    /// <summary>The entry's parent checksum, last in the body; bodies written before it existed end without it and read as parent 0.</summary>
    private const int ParentSize = 8;

    public static int EntrySize(LogEntry entry) => EntryFixedSize + entry.Operation.Length + entry.Prediction.Length + ParentSize;

    public static void WriteEntry(LogEntry entry, Span<byte> body)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(body, entry.Op.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(body[8..], entry.View.Value);
        body[16] = (byte)entry.Kind;
        BinaryPrimitives.WriteUInt128LittleEndian(body[17..], entry.Client.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(body[33..], entry.RequestNumber);
        BinaryPrimitives.WriteInt32LittleEndian(body[41..], entry.Operation.Length);
        entry.Operation.CopyTo(body[45..]);
        var at = 45 + entry.Operation.Length;
        BinaryPrimitives.WriteInt32LittleEndian(body[at..], entry.Prediction.Length);
        entry.Prediction.CopyTo(body[(at + 4)..]);
        BinaryPrimitives.WriteUInt64LittleEndian(body[(at + 4 + entry.Prediction.Length)..], entry.Parent);
    }

    /// <summary>Decodes an entry whose checksum passed; null when its fields do not add up (a bug or a forged record).</summary>
    public static LogEntry? ReadEntry(ReadOnlySpan<byte> body)
    {
        if (body.Length < EntryFixedSize)
        {
            return null;
        }

        var operationLength = BinaryPrimitives.ReadInt32LittleEndian(body[41..]);
        if (operationLength < 0 || operationLength > body.Length - EntryFixedSize)
        {
            return null;
        }

        var at = 45 + operationLength;
        var predictionLength = BinaryPrimitives.ReadInt32LittleEndian(body[at..]);
        var end = at + 4 + predictionLength;
        if (predictionLength < 0 || (end != body.Length && end + ParentSize != body.Length))
        {
            return null;
        }

        var kind = (EntryKind)body[16];
        if (kind is not (EntryKind.Register or EntryKind.Operation))
        {
            return null;
        }

        return new LogEntry(
            new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(body)),
            new View(BinaryPrimitives.ReadUInt64LittleEndian(body[8..])),
            kind,
            new ClientId(BinaryPrimitives.ReadUInt128LittleEndian(body[17..])),
            BinaryPrimitives.ReadUInt64LittleEndian(body[33..]),
            body.Slice(45, operationLength).ToArray(),
            body.Slice(at + 4, predictionLength).ToArray())
        {
            Parent = end == body.Length ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(body[end..]),
        };
    }

    /// <summary>The body of a hard-state record: view, log view, commit number, then flags (bit 0: the log is damaged and awaits repair; bit 1: its tail is uncertain, see <see cref="HardState.TailUncertain"/>).</summary>
    public const int HardStateSize = 32;

    /// <summary>The hard-state body written before the flags existed; still read, and meaning "not damaged".</summary>
    private const int HardStateSizeUnflagged = 24;

    private const ulong LogDamagedFlag = 1;

    private const ulong TailUncertainFlag = 2;

    public static void WriteHardState(HardState state, Span<byte> body)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(body, state.View.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(body[8..], state.LogView.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(body[16..], state.CommitNumber.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(body[24..], (state.LogDamaged ? LogDamagedFlag : 0) | (state.TailUncertain ? TailUncertainFlag : 0));
    }

    public static HardState ReadHardState(ReadOnlySpan<byte> body) => new(
        new View(BinaryPrimitives.ReadUInt64LittleEndian(body)),
        new View(BinaryPrimitives.ReadUInt64LittleEndian(body[8..])),
        new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(body[16..])))
    {
        LogDamaged = (Flags(body) & LogDamagedFlag) != 0,
        TailUncertain = (Flags(body) & TailUncertainFlag) != 0,
    };

    private static ulong Flags(ReadOnlySpan<byte> body) => body.Length >= HardStateSize ? BinaryPrimitives.ReadUInt64LittleEndian(body[24..]) : 0;

    public static void WritePair(ulong first, ulong second, Span<byte> body)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(body, first);
        BinaryPrimitives.WriteUInt64LittleEndian(body[8..], second);
    }

    public static (ulong First, ulong Second) ReadPair(ReadOnlySpan<byte> body) =>
        (BinaryPrimitives.ReadUInt64LittleEndian(body), BinaryPrimitives.ReadUInt64LittleEndian(body[8..]));

    /// <summary>True when a body of <paramref name="length"/> bytes fits records of <paramref name="type"/> (entries vary).</summary>
    public static bool LengthFits(RecordType type, int length) => type switch
    {
        RecordType.Entry => true,
        RecordType.HardState => length is HardStateSize or HardStateSizeUnflagged,
        RecordType.Checkpoint or RecordType.Void => length == 16,
        _ => length == 0,
    };
}
