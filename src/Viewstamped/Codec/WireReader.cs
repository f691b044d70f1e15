using System.Buffers.Binary;
using Viewstamped.Messages;

namespace Viewstamped.Codec;

/// <summary>
/// Reads little-endian fields from a message body. The first failure is remembered and every later
/// read returns a default value without allocating, so a parser may read all its fields and check
/// <see cref="Failed"/> once before building the message. Every length and count is checked against
/// the bytes actually left before anything is allocated.
/// </summary>
internal ref struct WireReader(ReadOnlySpan<byte> body, int frameOffset)
{
    private readonly ReadOnlySpan<byte> body = body;
    private readonly int frameOffset = frameOffset;
    private int position;

    public bool Failed { get; private set; }

    /// <summary>The frame offset of the failure (or of the current position).</summary>
    public readonly int FrameOffset => frameOffset + position;

    public string? Reason { get; private set; }

    public readonly int Remaining => body.Length - position;

    public byte U8()
    {
        if (!Take(1, "body ends inside a u8 field"))
        {
            return 0;
        }

        return body[position - 1];
    }

    public uint U32()
    {
        if (!Take(4, "body ends inside a u32 field"))
        {
            return 0;
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(body[(position - 4)..]);
    }

    public ulong U64()
    {
        if (!Take(8, "body ends inside a u64 field"))
        {
            return 0;
        }

        return BinaryPrimitives.ReadUInt64LittleEndian(body[(position - 8)..]);
    }

    public UInt128 U128()
    {
        if (!Take(16, "body ends inside a u128 field"))
        {
            return 0;
        }

        return BinaryPrimitives.ReadUInt128LittleEndian(body[(position - 16)..]);
    }

    /// <summary>
    /// An optional flags byte that ends a body: absent reads as 0. Present, it must be nonzero and use only
    /// the bits of <paramref name="defined"/>, so that every message still has exactly one encoding.
    /// </summary>
    public byte TrailingFlags(byte defined)
    {
        if (Failed || Remaining == 0)
        {
            return 0;
        }

        var value = U8();
        if (!Failed && (value == 0 || (value & ~defined) != 0))
        {
            Fail(-1, value == 0 ? "a flags byte of 0 is written as no byte" : "unknown flags");
        }

        return value;
    }

    public OpNumber ReadOp() => new(U64());

    public View ReadView() => new(U64());

    public byte[] Bytes()
    {
        var length = U32();
        if (Failed)
        {
            return [];
        }

        if (length > (uint)Remaining)
        {
            Fail(-4, "byte string length exceeds the bytes left in the body");
            return [];
        }

        if (length == 0)
        {
            return [];
        }

        var result = body.Slice(position, (int)length).ToArray();
        position += (int)length;
        return result;
    }

    public EntryKind ReadEntryKind()
    {
        var value = U8();
        if (!Failed && value is not ((byte)EntryKind.Register or (byte)EntryKind.Operation))
        {
            Fail(-1, "unknown entry kind");
        }

        return (EntryKind)value;
    }

    public RequestKind ReadRequestKind()
    {
        var value = U8();
        if (!Failed && value is not ((byte)RequestKind.Register or (byte)RequestKind.Operation))
        {
            Fail(-1, "unknown request kind");
        }

        return (RequestKind)value;
    }

    public ReplyStatus ReadReplyStatus()
    {
        var value = U8();
        if (!Failed && value > (byte)ReplyStatus.TooLarge)
        {
            Fail(-1, "unknown reply status");
        }

        return (ReplyStatus)value;
    }

    public LogEntry[] Entries()
    {
        var count = U32();
        if (Failed)
        {
            return [];
        }

        // Each entry takes at least LogEntryMinSize bytes, so a count the body cannot hold is
        // refused before the array is allocated.
        if (count > (uint)(Remaining / WireLayout.LogEntryMinSize))
        {
            Fail(-4, "entry count exceeds what the bytes left in the body can hold");
            return [];
        }

        if (count == 0)
        {
            return [];
        }

        var entries = new LogEntry[count];
        for (var i = 0; i < entries.Length; i++)
        {
            if (Entry() is not { } entry)
            {
                return [];
            }

            entries[i] = entry;
        }

        return entries;
    }

    /// <summary>One log entry; null (and <see cref="Failed"/>) when it is cut short or malformed.</summary>
    public LogEntry? Entry()
    {
        var op = ReadOp();
        var view = ReadView();
        var kind = ReadEntryKind();
        var client = new ClientId(U128());
        var requestNumber = U64();
        var operation = Bytes();
        var prediction = Bytes();
        var parent = U64();
        return Failed ? null : new LogEntry(op, view, kind, client, requestNumber, operation, prediction) { Parent = parent };
    }

    private bool Take(int size, string reason)
    {
        if (Failed)
        {
            return false;
        }

        if (Remaining < size)
        {
            Fail(0, reason);
            return false;
        }

        position += size;
        return true;
    }

    private void Fail(int back, string reason)
    {
        position += back;
        Failed = true;
        Reason = reason;
    }
}
