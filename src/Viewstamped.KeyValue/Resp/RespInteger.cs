using System.Globalization;

namespace Viewstamped.KeyValue;

/// <summary>
/// Integers as Redis reads and writes them: a strict decimal form ("0", or an optional '-' then a
/// digit 1-9 then digits) that fits in 64 bits; no spaces, no '+', no leading zeros.
/// </summary>
public static class RespInteger
{
    /// <summary>The longest decimal form of a 64-bit integer, sign included.</summary>
    public const int MaxLength = 20;

    /// <summary>Parses <paramref name="text"/> strictly; false when it is not a canonical 64-bit integer.</summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > MaxLength)
        {
            return false;
        }

        if (text.Length == 1 && text[0] == (byte)'0')
        {
            return true;
        }

        var negative = text[0] == (byte)'-';
        var digits = negative ? text[1..] : text;
        if (digits.IsEmpty || digits[0] < (byte)'1' || digits[0] > (byte)'9')
        {
            return false;
        }

        ulong magnitude = 0;
        foreach (var c in digits)
        {
            var digit = (uint)(c - '0');
            if (digit > 9 || magnitude > (ulong.MaxValue - digit) / 10)
            {
                return false;
            }

            magnitude = (magnitude * 10) + digit;
        }

        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1)
            {
                return false;
            }

            value = unchecked((long)(0 - magnitude));
            return true;
        }

        if (magnitude > long.MaxValue)
        {
            return false;
        }

        value = (long)magnitude;
        return true;
    }

    /// <summary>Writes <paramref name="value"/> in decimal; returns the number of bytes written.</summary>
    public static int Format(long value, Span<byte> destination)
    {
        if (!value.TryFormat(destination, out var written, default, CultureInfo.InvariantCulture))
        {
            throw new ArgumentException("destination too small", nameof(destination));
        }

        return written;
    }

    /// <summary>The decimal form of <paramref name="value"/> as bytes.</summary>
    public static byte[] ToBytes(long value)
    {
        Span<byte> buffer = stackalloc byte[MaxLength];
        return buffer[..Format(value, buffer)].ToArray();
    }

    /// <summary>The number of bytes of the decimal form of <paramref name="value"/>.</summary>
    public static int LengthOf(long value)
    {
        Span<byte> buffer = stackalloc byte[MaxLength];
        return Format(value, buffer);
    }
}
