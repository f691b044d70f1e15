using System.Buffers.Binary;

namespace Viewstamped.KeyValue;

/// <summary>
/// A key, its value and its expiry in one byte array, so a key costs one object:
/// <c>[flags][expireAt: 8, if flagged][value length: 4, if flagged][key length: varint][key][value][spare]</c>.
/// The value length is stored only for records with spare capacity (grown by APPEND); otherwise the
/// value runs to the end of the array.
/// </summary>
internal static class Record
{
    public const byte ExpiryFlag = 1;
    public const byte LengthFlag = 2;

    public static byte[] Create(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long? expireAt) =>
        Create(key, value, expireAt, capacity: -1);

    /// <summary>A record whose value has room for <paramref name="capacity"/> bytes (-1: exactly the value).</summary>
    public static byte[] Create(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long? expireAt, int capacity)
    {
        var flags = (byte)((expireAt.HasValue ? ExpiryFlag : 0) | (capacity >= 0 ? LengthFlag : 0));
        var header = HeaderSize(flags, key.Length);
        var record = new byte[header + key.Length + Math.Max(capacity, value.Length)];
        record[0] = flags;
        var at = 1;
        if (expireAt is { } expiry)
        {
            BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(at), expiry);
            at += 8;
        }

        if (capacity >= 0)
        {
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(at), value.Length);
            at += 4;
        }

        at += VarInt.Write(record.AsSpan(at), (uint)key.Length);
        key.CopyTo(record.AsSpan(at));
        value.CopyTo(record.AsSpan(at + key.Length));
        return record;
    }

    public static int HeaderSize(byte flags, int keyLength) =>
        1 + ((flags & ExpiryFlag) != 0 ? 8 : 0) + ((flags & LengthFlag) != 0 ? 4 : 0) + VarInt.SizeOf((uint)keyLength);

    public static bool HasExpiry(byte[] record) => (record[0] & ExpiryFlag) != 0;

    public static long? ExpiryOf(byte[] record) => HasExpiry(record) ? ExpireAt(record) : null;

    public static long ExpireAt(byte[] record) => BinaryPrimitives.ReadInt64LittleEndian(record.AsSpan(1));

    public static ReadOnlySpan<byte> Key(byte[] record)
    {
        var (keyStart, keyLength, _, _) = Layout(record);
        return record.AsSpan(keyStart, keyLength);
    }

    public static ReadOnlySpan<byte> Value(byte[] record)
    {
        var (keyStart, keyLength, valueLength, _) = Layout(record);
        return record.AsSpan(keyStart + keyLength, valueLength);
    }

    /// <summary>The room for the value: its length, or more for a record grown by APPEND.</summary>
    public static int Capacity(byte[] record)
    {
        var (keyStart, keyLength, _, _) = Layout(record);
        return record.Length - keyStart - keyLength;
    }

    /// <summary>True when <see cref="Overwrite"/> can put a value of this length and expiry kind in place.</summary>
    public static bool CanOverwrite(byte[] record, int valueLength, bool hasExpiry) =>
        (record[0] & LengthFlag) == 0 && HasExpiry(record) == hasExpiry && Value(record).Length == valueLength;

    /// <summary>Replaces the value and expiry in place; only when <see cref="CanOverwrite"/> said so.</summary>
    public static void Overwrite(byte[] record, ReadOnlySpan<byte> value, long? expireAt)
    {
        var (keyStart, keyLength, _, _) = Layout(record);
        value.CopyTo(record.AsSpan(keyStart + keyLength));
        if (expireAt is { } expiry)
        {
            BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), expiry);
        }
    }

    /// <summary>Changes the expiry of a record that has one.</summary>
    public static void SetExpireAt(byte[] record, long expireAt) => BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(1), expireAt);

    /// <summary>Appends to a record with spare room: the caller checked <see cref="Capacity"/>.</summary>
    public static int AppendInPlace(byte[] record, ReadOnlySpan<byte> tail)
    {
        var (keyStart, keyLength, valueLength, lengthAt) = Layout(record);
        tail.CopyTo(record.AsSpan(keyStart + keyLength + valueLength));
        var length = valueLength + tail.Length;
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(lengthAt), length);
        return length;
    }

    public static bool HasSpareRoom(byte[] record) => (record[0] & LengthFlag) != 0;

    private static (int KeyStart, int KeyLength, int ValueLength, int LengthAt) Layout(byte[] record)
    {
        var flags = record[0];
        var at = (flags & ExpiryFlag) != 0 ? 9 : 1;
        var lengthAt = at;
        if ((flags & LengthFlag) != 0)
        {
            at += 4;
        }

        uint keyLength = record[at];
        var used = 1;
        if (keyLength >= 0x80)
        {
            VarInt.TryRead(record.AsSpan(at), out keyLength, out used);
        }

        var keyStart = at + used;
        var valueLength = (flags & LengthFlag) != 0
            ? BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(lengthAt))
            : record.Length - keyStart - (int)keyLength;
        return (keyStart, (int)keyLength, valueLength, lengthAt);
    }
}

/// <summary>Records are equal when their keys are; a key span finds its record without allocating.</summary>
internal sealed class RecordKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly RecordKeyComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && Record.Key(x).SequenceEqual(Record.Key(y)));

    public int GetHashCode(byte[] obj) => Hash(Record.Key(obj));

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(Record.Key(other));

    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    public byte[] Create(ReadOnlySpan<byte> alternate) => throw new NotSupportedException("records are created with their value");

    /// <summary>
    /// System.HashCode is seeded per process, so colliding keys cannot be precomputed (hash flooding).
    /// The hash never reaches anything a client or another replica sees.
    /// </summary>
    private static int Hash(ReadOnlySpan<byte> key)
    {
        var hash = default(HashCode);
        hash.AddBytes(key);
        return hash.ToHashCode();
    }
}

/// <summary>Orders records by key bytes (ordinal): the order of checkpoints.</summary>
internal sealed class RecordKeyOrder : IComparer<byte[]>
{
    public static readonly RecordKeyOrder Instance = new();

    public int Compare(byte[]? x, byte[]? y) => Record.Key(x!).SequenceCompareTo(Record.Key(y!));
}

/// <summary>Orders records with an expiry by expiry time, then key: the order of the expiry sweep.</summary>
internal sealed class RecordExpiryOrder : IComparer<byte[]>
{
    public static readonly RecordExpiryOrder Instance = new();

    public int Compare(byte[]? x, byte[]? y)
    {
        var byTime = Record.ExpireAt(x!).CompareTo(Record.ExpireAt(y!));
        return byTime != 0 ? byTime : Record.Key(x!).SequenceCompareTo(Record.Key(y!));
    }
}
