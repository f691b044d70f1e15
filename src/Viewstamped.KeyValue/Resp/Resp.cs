using System.Buffers;
using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>
/// RESP2 replies as byte arrays, for replies made of one value. Every method returns a new array
/// the caller may keep; <see cref="RespWriter"/> composes larger replies.
/// </summary>
public static class Resp
{
    /// <summary><c>+OK\r\n</c>.</summary>
    public static ReadOnlySpan<byte> Ok => "+OK\r\n"u8;

    /// <summary><c>+PONG\r\n</c>.</summary>
    public static ReadOnlySpan<byte> Pong => "+PONG\r\n"u8;

    /// <summary>The null bulk string <c>$-1\r\n</c> (a missing key).</summary>
    public static ReadOnlySpan<byte> NullBulkString => "$-1\r\n"u8;

    /// <summary>The null array <c>*-1\r\n</c>.</summary>
    public static ReadOnlySpan<byte> NullArray => "*-1\r\n"u8;

    /// <summary>The empty array <c>*0\r\n</c>.</summary>
    public static ReadOnlySpan<byte> EmptyArray => "*0\r\n"u8;

    /// <summary><c>+text\r\n</c>.</summary>
    public static byte[] SimpleString(string text) => Build(writer => writer.WriteSimpleString(text), Encoding.UTF8.GetByteCount(text) + 3);

    /// <summary><c>-message\r\n</c>; the message starts with its code, e.g. <c>ERR syntax error</c>.</summary>
    public static byte[] Error(string message) => Build(writer => writer.WriteError(message), Encoding.UTF8.GetByteCount(message) + 3);

    /// <summary><c>:value\r\n</c>.</summary>
    public static byte[] Integer(long value)
    {
        var bytes = new byte[RespInteger.LengthOf(value) + 3];
        bytes[0] = (byte)':';
        RespInteger.Format(value, bytes.AsSpan(1));
        bytes[^2] = (byte)'\r';
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary><c>$length\r\nbytes\r\n</c>.</summary>
    public static byte[] BulkString(ReadOnlySpan<byte> value)
    {
        var digits = RespInteger.LengthOf(value.Length);
        var bytes = new byte[1 + digits + 2 + value.Length + 2];
        bytes[0] = (byte)'$';
        RespInteger.Format(value.Length, bytes.AsSpan(1));
        bytes[1 + digits] = (byte)'\r';
        bytes[2 + digits] = (byte)'\n';
        value.CopyTo(bytes.AsSpan(3 + digits));
        bytes[^2] = (byte)'\r';
        bytes[^1] = (byte)'\n';
        return bytes;
    }

    /// <summary><paramref name="value"/> as a UTF-8 bulk string.</summary>
    public static byte[] BulkString(string value) => BulkString(Encoding.UTF8.GetBytes(value));

    /// <summary>An array of bulk strings; a null element is a null bulk string.</summary>
    public static byte[] Array(IReadOnlyList<byte[]?> items)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(items.Count);
        foreach (var item in items)
        {
            if (item is null)
            {
                writer.WriteNullBulkString();
            }
            else
            {
                writer.WriteBulkString(item);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Measures the RESP2 value that <paramref name="resp"/> starts with (nested arrays included), so
    /// that concatenated replies can be split again. False when the value is incomplete or malformed.
    /// </summary>
    /// <param name="resp">Bytes that start with a RESP2 value.</param>
    /// <param name="length">The value's length in bytes; 0 when false.</param>
    public static bool TryMeasure(ReadOnlySpan<byte> resp, out int length)
    {
        length = 0;
        var at = 0;
        var pending = 1L; // values still to skip: 1, plus the elements of every array met
        while (pending > 0)
        {
            if (at >= resp.Length)
            {
                return false;
            }

            var prefix = resp[at];
            var end = resp[at..].IndexOf("\r\n"u8);
            if (end < 1)
            {
                return false;
            }

            var line = resp.Slice(at + 1, end - 1);
            at += end + 2;
            pending--;
            long size;
            switch (prefix)
            {
                case (byte)'+' or (byte)'-':
                    break;
                case (byte)':':
                    if (!RespInteger.TryParse(line, out _))
                    {
                        return false;
                    }

                    break;
                case (byte)'$':
                    if (!RespInteger.TryParse(line, out size) || size < -1 || (size >= 0 && size > resp.Length - at - 2))
                    {
                        return false;
                    }

                    if (size >= 0)
                    {
                        at += (int)size;
                        if (resp[at] != (byte)'\r' || resp[at + 1] != (byte)'\n')
                        {
                            return false;
                        }

                        at += 2;
                    }

                    break;
                case (byte)'*':
                    // Every element takes at least 3 bytes, which bounds the count.
                    if (!RespInteger.TryParse(line, out size) || size < -1 || size > (resp.Length - at) / 3)
                    {
                        return false;
                    }

                    pending += Math.Max(size, 0);
                    break;
                default:
                    return false;
            }
        }

        length = at;
        return true;
    }

    private static byte[] Build(Action<RespWriter> write, int sizeHint)
    {
        var buffer = new ArrayBufferWriter<byte>(Math.Max(sizeHint, 1));
        write(new RespWriter(buffer));
        return buffer.WrittenSpan.ToArray();
    }
}
