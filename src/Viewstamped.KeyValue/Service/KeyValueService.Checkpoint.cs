using System.Buffers;
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
    private const int HeaderSize = 4 + 8 + VarInt.MaxSize;

    /// <summary>The most an entry takes before its key and value: flags, expiry, two lengths.</summary>
    private const int EntryHeaderSizeMax = 1 + 8 + (2 * VarInt.MaxSize);

    /// <summary>The span asked of the destination for copying records, and the largest record copied whole.</summary>
    private const int CopySpanSize = 64 * 1024;

    private static ReadOnlySpan<byte> Magic => "VKV1"u8;

    /// <inheritdoc />
    public byte[] WriteCheckpoint()
    {
        var writer = new ArrayBufferWriter<byte>();
        WriteCheckpoint(writer);
        return writer.WrittenSpan.ToArray();
    }

    /// <inheritdoc />
    /// <remarks>
    /// Sorts the live keys (an array of handles, 4 bytes a key), then copies each record from the
    /// store's slabs: a record without spare room is laid out as a checkpoint entry, so it is one
    /// copy into a span of up to <see cref="CopySpanSize"/> bytes, advanced once per span.
    /// </remarks>
    public void WriteCheckpoint(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        WriteCheckpoint(store, destination);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Freezes the store (the list of its records, 4 bytes a key; see <see cref="Store.Freeze"/>): until
    /// the snapshot is written, writes to the records it sees go to new records instead, and the sort and
    /// the copy of every record happen when the snapshot is written, off the loop.
    /// </remarks>
    public IServiceSnapshot TakeSnapshot() => new Snapshot(store);

    private static void WriteCheckpoint(Store store, IBufferWriter<byte> destination)
    {
        var live = store.LiveInKeyOrder();
        var span = destination.GetSpan(HeaderSize);
        Magic.CopyTo(span);
        BinaryPrimitives.WriteInt64LittleEndian(span[4..], store.Now);
        destination.Advance(12 + VarInt.Write(span[12..], (uint)live.Length));
        span = destination.GetSpan(CopySpanSize);
        var used = 0;
        foreach (var record in live)
        {
            var entry = store.CheckpointEntry(record);
            if (!entry.IsEmpty && entry.Length <= span.Length - used)
            {
                entry.CopyTo(span[used..]);
                used += entry.Length;
                continue;
            }

            destination.Advance(used);
            used = 0;
            if (!entry.IsEmpty && entry.Length <= CopySpanSize)
            {
                span = destination.GetSpan(CopySpanSize);
                entry.CopyTo(span);
                used = entry.Length;
                continue;
            }

            WriteEntry(store, destination, record);
            span = destination.GetSpan(CopySpanSize);
        }

        destination.Advance(used);
    }

    /// <summary>One entry field by field: a record with spare room (grown by APPEND), or a large one.</summary>
    private static void WriteEntry(Store store, IBufferWriter<byte> destination, int record)
    {
        var key = store.Key(record);
        var value = store.Value(record);
        var span = destination.GetSpan(EntryHeaderSizeMax);
        var at = 0;
        if (store.ExpiryOf(record) is { } expireAt)
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
        destination.Advance(at);
        destination.Write(key);
        destination.Write(value);
    }

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The bytes are not a checkpoint of this service.</exception>
    public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint) => RestoreCheckpoint(new ReadOnlySequence<byte>(checkpoint.ToArray()));

    /// <inheritdoc />
    /// <exception cref="InvalidDataException">The bytes are not a checkpoint of this service; the state is then unchanged.</exception>
    public void RestoreCheckpoint(ReadOnlySequence<byte> checkpoint)
    {
        var reader = new SequenceReader<byte>(checkpoint);
        if (checkpoint.Length < 13 || !reader.IsNext(Magic, advancePast: true))
        {
            throw new InvalidDataException("not a key-value checkpoint");
        }

        reader.TryReadLittleEndian(out long now);
        if (!TryReadVarInt(ref reader, out var count) || count > (ulong)reader.Remaining / 3)
        {
            throw new InvalidDataException("bad key count in checkpoint");
        }

        // Built aside and swapped in at the end, so a bad checkpoint leaves the state as it was.
        var restored = new Store((int)count) { Now = now };
        var previous = Store.None;
        var scratch = Array.Empty<byte>();
        for (var i = 0; i < (int)count; i++)
        {
            if (!reader.TryRead(out var flags) || flags > 1)
            {
                throw new InvalidDataException($"bad entry {i} in checkpoint");
            }

            long? expireAt = null;
            if (flags == 1)
            {
                if (!reader.TryReadLittleEndian(out long expiry))
                {
                    throw new InvalidDataException($"truncated entry {i} in checkpoint");
                }

                expireAt = expiry;
            }

            if (!TryReadVarInt(ref reader, out var keyLength))
            {
                throw new InvalidDataException($"bad key length of entry {i} in checkpoint");
            }

            if (!TryReadVarInt(ref reader, out var valueLength) || (long)keyLength + valueLength > reader.Remaining)
            {
                throw new InvalidDataException($"bad value length of entry {i} in checkpoint");
            }

            // Key and value are usually within one chunk; across a chunk boundary they are copied out.
            var length = (int)(keyLength + valueLength);
            ReadOnlySpan<byte> entry;
            if (reader.UnreadSpan.Length >= length)
            {
                entry = reader.UnreadSpan[..length];
            }
            else
            {
                if (scratch.Length < length)
                {
                    scratch = new byte[length];
                }

                reader.UnreadSequence.Slice(0, length).CopyTo(scratch);
                entry = scratch.AsSpan(0, length);
            }

            var key = entry[..(int)keyLength];
            if (previous != Store.None && restored.Key(previous).SequenceCompareTo(key) >= 0)
            {
                throw new InvalidDataException($"keys out of order at entry {i} in checkpoint");
            }

            previous = restored.Insert(Store.None, key, entry[(int)keyLength..], expireAt, capacity: -1);
            reader.Advance(length);
        }

        if (!reader.End)
        {
            throw new InvalidDataException("trailing bytes in checkpoint");
        }

        store = restored;
    }

    /// <summary>A <see cref="VarInt"/> that may span chunks: at most five bytes are copied out and read.</summary>
    private static bool TryReadVarInt(ref SequenceReader<byte> reader, out uint value)
    {
        Span<byte> bytes = stackalloc byte[VarInt.MaxSize];
        var available = (int)Math.Min(reader.Remaining, VarInt.MaxSize);
        if (!reader.TryCopyTo(bytes[..available]) || !VarInt.TryRead(bytes[..available], out value, out var used))
        {
            value = 0;
            return false;
        }

        reader.Advance(used);
        return true;
    }

    /// <summary>
    /// The store frozen at a checkpoint: written from any thread, and released once written, so the
    /// store thaws at its next operation rather than when the replica disposes of the snapshot, which
    /// is only after the checkpoint is synced and handed back (see <see cref="Store.Release"/>).
    /// </summary>
    private sealed class Snapshot(Store live) : IServiceSnapshot
    {
        private readonly Store frozen = live.Freeze();

        public void WriteTo(IBufferWriter<byte> destination)
        {
            ArgumentNullException.ThrowIfNull(destination);
            try
            {
                WriteCheckpoint(frozen, destination);
            }
            finally
            {
                frozen.Release();
            }
        }

        public void Dispose() => live.Thaw(frozen);
    }
}
