using System.Buffers.Binary;
using Viewstamped.Messages;

namespace Viewstamped.Codec;

/// <summary>Writes little-endian fields into a span that the caller sized exactly beforehand.</summary>
internal ref struct WireWriter(Span<byte> destination)
{
    private readonly Span<byte> destination = destination;

    public int Position { get; private set; }

    public void U8(byte value)
    {
        destination[Position] = value;
        Position += 1;
    }

    public void U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination[Position..], value);
        Position += 2;
    }

    public void U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination[Position..], value);
        Position += 4;
    }

    public void U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination[Position..], value);
        Position += 8;
    }

    public void U128(UInt128 value)
    {
        BinaryPrimitives.WriteUInt128LittleEndian(destination[Position..], value);
        Position += 16;
    }

    public void Bytes(byte[] value)
    {
        U32((uint)value.Length);
        value.CopyTo(destination[Position..]);
        Position += value.Length;
    }

    public void Entries(LogEntry[] entries)
    {
        U32((uint)entries.Length);
        foreach (var entry in entries)
        {
            Entry(entry);
        }
    }

    public void Entry(LogEntry entry)
    {
        U64(entry.Op.Value);
        U64(entry.View.Value);
        U8((byte)entry.Kind);
        U128(entry.Client.Value);
        U64(entry.RequestNumber);
        Bytes(entry.Operation);
        Bytes(entry.Prediction);
        U64(entry.Parent);
    }
}
