using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Messages;

namespace Viewstamped.Simulation;

/// <summary>What a simulated log block records.</summary>
internal enum BlockType : byte
{
    Entry = 1,
    TruncateAfter = 2,
    Reset = 3,
    HardState = 4,
    Compact = 5,
    Checkpoint = 6,
}

/// <summary>A decoded log block.</summary>
internal sealed record DiskRecord(BlockType Type, bool BatchEnd, ulong Seq, ulong Batch, OpNumber Op, LogEntry? Entry, HardState HardState, ulong Checksum)
{
    /// <summary>The header is intact but the payload failed its checksum: what the block was is known, its contents are lost.</summary>
    public bool BodyLost { get; init; }
}

/// <summary>
/// The byte layout of the simulated disk's blocks, so faults act on bytes and checksums catch them:
/// a log block is <c>u64 XxHash64 of header bytes 8 to 47, u8 type, u8 flags (1 = batch end), 6 zero, u64 seq,
/// u64 batch, u64 op, u64 XxHash64 of the payload, payload</c>, so a block whose payload alone is damaged
/// still says what it was; a superblock copy and a checkpoint file have their own checksums.
/// </summary>
internal static class DiskBlock
{
    public const int SuperblockSize = 96;
    private const int HeaderSize = 48;

    /// <summary>In a hard-state block's flags byte (9) and the superblock's byte 65: <see cref="HardState.LogDamaged"/>.</summary>
    private const byte LogDamagedFlag = 2;

    /// <summary>In the same two bytes: <see cref="HardState.TailUncertain"/>.</summary>
    private const byte TailUncertainFlag = 4;

    public static byte[] Encode(BlockType type, bool batchEnd, ulong seq, ulong batch, OpNumber op, LogEntry? entry, HardState hardState, ulong checksum)
    {
        var payload = type switch
        {
            BlockType.Entry => 8 + 8 + 1 + 16 + 8 + 4 + entry!.Operation.Length + 4 + entry.Prediction.Length + 8,
            BlockType.HardState => 24,
            BlockType.Checkpoint => 8,
            _ => 0,
        };
        var block = new byte[HeaderSize + payload];
        var span = block.AsSpan();
        span[8] = (byte)type;
        span[9] = (byte)((batchEnd ? 1 : 0) | (type == BlockType.HardState ? Flags(hardState) : 0));
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], seq);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], batch);
        BinaryPrimitives.WriteUInt64LittleEndian(span[32..], op.Value);
        var body = span[HeaderSize..];
        switch (type)
        {
            case BlockType.Entry:
                BinaryPrimitives.WriteUInt64LittleEndian(body, entry!.Op.Value);
                BinaryPrimitives.WriteUInt64LittleEndian(body[8..], entry.View.Value);
                body[16] = (byte)entry.Kind;
                BinaryPrimitives.WriteUInt128LittleEndian(body[17..], entry.Client.Value);
                BinaryPrimitives.WriteUInt64LittleEndian(body[33..], entry.RequestNumber);
                BinaryPrimitives.WriteInt32LittleEndian(body[41..], entry.Operation.Length);
                entry.Operation.CopyTo(body[45..]);
                BinaryPrimitives.WriteInt32LittleEndian(body[(45 + entry.Operation.Length)..], entry.Prediction.Length);
                entry.Prediction.CopyTo(body[(49 + entry.Operation.Length)..]);
                BinaryPrimitives.WriteUInt64LittleEndian(body[(49 + entry.Operation.Length + entry.Prediction.Length)..], entry.Parent);
                break;
            case BlockType.HardState:
                BinaryPrimitives.WriteUInt64LittleEndian(body, hardState.View.Value);
                BinaryPrimitives.WriteUInt64LittleEndian(body[8..], hardState.LogView.Value);
                BinaryPrimitives.WriteUInt64LittleEndian(body[16..], hardState.CommitNumber.Value);
                break;
            case BlockType.Checkpoint:
                BinaryPrimitives.WriteUInt64LittleEndian(body, checksum);
                break;
        }

        BinaryPrimitives.WriteUInt64LittleEndian(span[40..], XxHash64.HashToUInt64(body));
        BinaryPrimitives.WriteUInt64LittleEndian(span, XxHash64.HashToUInt64(span[8..HeaderSize]));
        return block;
    }

    /// <summary>Decodes a block; null when it is missing or fails its checksum.</summary>
    public static DiskRecord? Decode(byte[]? block) => Decode(block, verify: true);

    /// <summary>
    /// Decodes a block; null when it is missing, too short for what its header says, or (unless
    /// <paramref name="verify"/> is false, which only the planted bug <c>skip-log-checksum</c> does) fails its
    /// header checksum. A block whose header is intact and payload is not decodes with <see cref="DiskRecord.BodyLost"/>.
    /// </summary>
    public static DiskRecord? Decode(byte[]? block, bool verify)
    {
        var span = block.AsSpan();
        if (block is null || block.Length < HeaderSize
            || (verify && BinaryPrimitives.ReadUInt64LittleEndian(span) != XxHash64.HashToUInt64(span[8..HeaderSize])))
        {
            return null;
        }

        var type = (BlockType)span[8];
        var op = new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(span[32..]));
        var body = span[HeaderSize..];
        if (verify && BinaryPrimitives.ReadUInt64LittleEndian(span[40..]) != XxHash64.HashToUInt64(body))
        {
            return new DiskRecord(type, (span[9] & 1) != 0, BinaryPrimitives.ReadUInt64LittleEndian(span[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(span[24..]), op, null, default, 0)
            { BodyLost = true };
        }

        LogEntry? entry = null;
        HardState hardState = default;
        ulong checksum = 0;
        var payload = type switch
        {
            BlockType.Entry => 57,
            BlockType.HardState => 24,
            BlockType.Checkpoint => 8,
            _ => 0,
        };
        if (body.Length < payload)
        {
            return null;
        }

        switch (type)
        {
            case BlockType.Entry:
                var operationLength = BinaryPrimitives.ReadInt32LittleEndian(body[41..]);
                if (operationLength < 0 || operationLength > body.Length - 57)
                {
                    return null;
                }

                var predictionLength = BinaryPrimitives.ReadInt32LittleEndian(body[(45 + operationLength)..]);
                if (predictionLength < 0 || predictionLength > body.Length - 57 - operationLength)
                {
                    return null;
                }

                entry = new LogEntry(
                    new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(body)),
                    new View(BinaryPrimitives.ReadUInt64LittleEndian(body[8..])),
                    (EntryKind)body[16],
                    new ClientId(BinaryPrimitives.ReadUInt128LittleEndian(body[17..])),
                    BinaryPrimitives.ReadUInt64LittleEndian(body[33..]),
                    body.Slice(45, operationLength).ToArray(),
                    body.Slice(49 + operationLength, predictionLength).ToArray())
                {
                    Parent = BinaryPrimitives.ReadUInt64LittleEndian(body[(49 + operationLength + predictionLength)..]),
                };
                break;
            case BlockType.HardState:
                hardState = new HardState(
                    new View(BinaryPrimitives.ReadUInt64LittleEndian(body)),
                    new View(BinaryPrimitives.ReadUInt64LittleEndian(body[8..])),
                    new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(body[16..])))
                {
                    LogDamaged = (span[9] & LogDamagedFlag) != 0,
                    TailUncertain = (span[9] & TailUncertainFlag) != 0,
                };
                break;
            case BlockType.Checkpoint:
                checksum = BinaryPrimitives.ReadUInt64LittleEndian(body);
                break;
        }

        return new DiskRecord(type, (span[9] & 1) != 0, BinaryPrimitives.ReadUInt64LittleEndian(span[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[24..]), op, entry, hardState, checksum);
    }

    private static byte Flags(HardState state) =>
        (byte)((state.LogDamaged ? LogDamagedFlag : 0) | (state.TailUncertain ? TailUncertainFlag : 0));

    /// <summary>A superblock copy: views, commit number, checkpoint reference and where the log starts.</summary>
    public static byte[] EncodeSuperblock(DiskSuperblock state, int copy)
    {
        var block = new byte[SuperblockSize];
        var span = block.AsSpan();
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)copy);
        BinaryPrimitives.WriteUInt64LittleEndian(span[16..], state.Sequence);
        BinaryPrimitives.WriteUInt64LittleEndian(span[24..], state.HardState.View.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(span[32..], state.HardState.LogView.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(span[40..], state.HardState.CommitNumber.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(span[48..], state.WalSeq);
        BinaryPrimitives.WriteUInt64LittleEndian(span[56..], state.FirstSeq);
        span[64] = state.CheckpointOp is null ? (byte)0 : (byte)1;
        span[65] = Flags(state.HardState);
        BinaryPrimitives.WriteUInt64LittleEndian(span[72..], state.CheckpointOp?.Value ?? 0);
        BinaryPrimitives.WriteUInt64LittleEndian(span[80..], state.CheckpointChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(span[88..], state.FirstBatch);
        Seal(span);
        return block;
    }

    /// <summary>
    /// Decodes the superblock copy in slot <paramref name="copy"/>; null when it fails its checksum or was
    /// written for another slot. With <paramref name="verify"/> false (only the planted bug
    /// <c>trust-torn-superblock</c>) neither is checked.
    /// </summary>
    public static DiskSuperblock? DecodeSuperblock(byte[]? block, int copy, bool verify = true)
    {
        if (block is null || block.Length != SuperblockSize
            || (verify && (!Verify(block) || BinaryPrimitives.ReadUInt32LittleEndian(block.AsSpan(8)) != copy)))
        {
            return null;
        }

        var span = block.AsSpan();
        return new DiskSuperblock(
            BinaryPrimitives.ReadUInt64LittleEndian(span[16..]),
            new HardState(
                new View(BinaryPrimitives.ReadUInt64LittleEndian(span[24..])),
                new View(BinaryPrimitives.ReadUInt64LittleEndian(span[32..])),
                new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(span[40..])))
            {
                LogDamaged = (span[65] & LogDamagedFlag) != 0,
                TailUncertain = (span[65] & TailUncertainFlag) != 0,
            },
            BinaryPrimitives.ReadUInt64LittleEndian(span[48..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[56..]),
            BinaryPrimitives.ReadUInt64LittleEndian(span[88..]),
            span[64] == 1 ? new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(span[72..])) : null,
            BinaryPrimitives.ReadUInt64LittleEndian(span[80..]));
    }

    /// <summary>A checkpoint file: <c>u64 XxHash64 of the rest, u64 op, u64 state checksum, state</c>.</summary>
    public static byte[] EncodeCheckpoint(Checkpoint checkpoint)
    {
        var file = new byte[24 + checkpoint.State.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(8), checkpoint.Op.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(file.AsSpan(16), checkpoint.Checksum);
        checkpoint.State.Read(0, file.AsSpan(24));
        Seal(file);
        return file;
    }

    public static Checkpoint? DecodeCheckpoint(byte[]? file, OpNumber op, ulong checksum, bool verify = true)
    {
        if (file is null || file.Length < 24 || (verify && !Verify(file))
            || BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(8)) != op.Value
            || BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(16)) != checksum)
        {
            return null;
        }

        return new Checkpoint(op, file.AsSpan(24).ToArray(), checksum);
    }

    private static void Seal(Span<byte> block) => BinaryPrimitives.WriteUInt64LittleEndian(block, XxHash64.HashToUInt64(block[8..]));

    private static bool Verify(ReadOnlySpan<byte> block) => BinaryPrimitives.ReadUInt64LittleEndian(block) == XxHash64.HashToUInt64(block[8..]);
}

/// <summary>The simulated superblock: what must survive even a damaged log.</summary>
internal sealed record DiskSuperblock(ulong Sequence, HardState HardState, ulong WalSeq, ulong FirstSeq, ulong FirstBatch, OpNumber? CheckpointOp, ulong CheckpointChecksum);
