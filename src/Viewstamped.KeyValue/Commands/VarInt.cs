namespace Viewstamped.KeyValue;

/// <summary>Unsigned LEB128 integers (7 bits a byte, low bits first) up to 32 bits.</summary>
internal static class VarInt
{
    public const int MaxSize = 5;

    public static int SizeOf(uint value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    public static int Write(Span<byte> destination, uint value)
    {
        var at = 0;
        while (value >= 0x80)
        {
            destination[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[at++] = (byte)value;
        return at;
    }

    /// <summary>Reads a varint; false when it is truncated, longer than 5 bytes, above 2^31-1, or not minimal.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out uint value, out int used)
    {
        value = 0;
        used = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (used >= source.Length)
            {
                return false;
            }

            var b = source[used++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                // Canonical form only: a final zero byte after the first is an over-long encoding.
                return (b != 0 || used == 1) && value <= int.MaxValue && (shift < 28 || b < 0x08);
            }
        }

        return false;
    }

    /// <summary>
    /// Writes <paramref name="value"/> in exactly <see cref="MaxSize"/> bytes (continuation bits on the
    /// first four), so that it can be rewritten in place with any other value.
    /// </summary>
    public static void WriteFixed(Span<byte> destination, uint value)
    {
        for (var i = 0; i < MaxSize - 1; i++)
        {
            destination[i] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[MaxSize - 1] = (byte)value;
    }

    /// <summary>
    /// Reads a varint this process wrote itself (no bounds, length or canonical-form checks: fixed-size
    /// forms from <see cref="WriteFixed"/> are not minimal) and moves <paramref name="at"/> past it.
    /// </summary>
    public static int ReadTrusted(ReadOnlySpan<byte> source, ref int at)
    {
        uint value = source[at];
        if (value < 0x80)
        {
            at++;
            return (int)value;
        }

        value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = source[at++];
            value |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return (int)value;
            }
        }
    }
}
