using System.Buffers.Binary;

namespace Viewstamped.KeyValue;

/// <summary>
/// Checkpoints: <c>"VKV1"</c>, the service's time (int64 LE), the key count (varint), then each live
/// key in ordinal byte order: a flags byte (1: has an expiry), the expiry (int64 LE, Unix ms) if
/// flagged, the key length and value length (varints), the key, the value. Equal states give equal
/// bytes: the order is the keys', and expired keys a replica still holds are left out.
/// </summary>
public sealed partial class KeyValueService
{
    private static ReadOnlySpan<byte> Magic => "VKV1"u8;

    /// <summary>The live records sorted by <see cref="MeasureCheckpoint"/>, and the size, for the write that follows.</summary>
    private (byte[][] Live, int Size)? measured;

    /// <inheritdoc />
    public byte[] WriteCheckpoint()
    {
        var checkpoint = new byte[MeasureCheckpoint()];
        WriteCheckpoint(checkpoint);
        return checkpoint;
    }

    /// <inheritdoc />
    /// <remarks>Sorts the live keys and keeps them for the <see cref="WriteCheckpoint(Span{byte})"/> that follows.</remarks>
    public int MeasureCheckpoint()
    {
        var live = store.LiveInKeyOrder();
        long size = Magic.Length + 8 + VarInt.SizeOf((uint)live.Length);
        foreach (var record in live)
        {
            var key = Record.Key(record).Length;
            var value = Record.Value(record).Length;
            size += 1 + (Record.HasExpiry(record) ? 8 : 0) + VarInt.SizeOf((uint)key) + VarInt.SizeOf((uint)value) + key + value;
        }

        if (size > Array.MaxLength)
        {
            throw new InvalidOperationException($"the state takes {size} bytes, more than one checkpoint can hold");
        }

        measured = (live, (int)size);
        return (int)size;
    }

    /// <inheritdoc />
    public void WriteCheckpoint(Span<byte> destination)
    {
        if (measured is not var (live, size) || destination.Length != size)
        {
            throw new InvalidOperationException("WriteCheckpoint(Span) must follow MeasureCheckpoint, with a destination of the measured length");
        }

        measured = null;
        var span = destination;
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt64LittleEndian(span[4..], store.Now);
        var at = 12 + VarInt.Write(span[12..], (uint)live.Length);
        foreach (var record in live)
        {
            var key = Record.Key(record);
            var value = Record.Value(record);
            if (Record.ExpiryOf(record) is { } expireAt)
            {
                span[at++] = 1;
                BinaryPrimitives.WriteInt64LittleEndian(span[at..], expireAt);
                at += 8;
            }
            else
            {
                span[at++] = 0;
            }

            at += VarInt.Write(span[at..], (uint)key.Length);
            at += VarInt.Write(span[at..], (uint)value.Length);
            key.CopyTo(span[at..]);
            at += key.Length;
            value.CopyTo(span[at..]);
            at += value.Length;
        }
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The bytes are not a checkpoint of this service.</exception>
    public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint)
    {
        if (checkpoint.Length < 13 || !checkpoint[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException("not a key-value checkpoint");
        }

        var now = BinaryPrimitives.ReadInt64LittleEndian(checkpoint[4..]);
        var at = 12;
        if (!VarInt.TryRead(checkpoint[at..], out var count, out var used) || count > (uint)(checkpoint.Length - at - used) / 3)
        {
            throw new InvalidDataException("bad key count in checkpoint");
        }

        at += used;
        var records = new byte[count][];
        ReadOnlySpan<byte> previous = default;
        for (var i = 0; i < records.Length; i++)
        {
            if (at >= checkpoint.Length || checkpoint[at] > 1)
            {
                throw new InvalidDataException($"bad entry {i} in checkpoint");
            }

            long? expireAt = null;
            if (checkpoint[at++] == 1)
            {
                if (checkpoint.Length - at < 8)
                {
                    throw new InvalidDataException($"truncated entry {i} in checkpoint");
                }

                expireAt = BinaryPrimitives.ReadInt64LittleEndian(checkpoint[at..]);
                at += 8;
            }

            if (!VarInt.TryRead(checkpoint[at..], out var keyLength, out used))
            {
                throw new InvalidDataException($"bad key length of entry {i} in checkpoint");
            }

            at += used;
            if (!VarInt.TryRead(checkpoint[at..], out var valueLength, out used) || (long)keyLength + valueLength > checkpoint.Length - at - used)
            {
                throw new InvalidDataException($"bad value length of entry {i} in checkpoint");
            }

            at += used;
            var key = checkpoint.Slice(at, (int)keyLength);
            if (i > 0 && previous.SequenceCompareTo(key) >= 0)
            {
                throw new InvalidDataException($"keys out of order at entry {i} in checkpoint");
            }

            records[i] = Record.Create(key, checkpoint.Slice(at + (int)keyLength, (int)valueLength), expireAt);
            previous = key;
            at += (int)(keyLength + valueLength);
        }

        if (at != checkpoint.Length)
        {
            throw new InvalidDataException("trailing bytes in checkpoint");
        }

        store.Clear();
        store.Now = now;
        foreach (var record in records)
        {
            store.TryAdd(record);
        }
    }
}
