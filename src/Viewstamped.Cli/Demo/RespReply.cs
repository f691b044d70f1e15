using System.Globalization;
using System.Text;

namespace Viewstamped.Cli.Demo;

/// <summary>Reads the two RESP2 reply shapes the demo needs: a bulk string (GET) and an array of bulk strings (MGET).</summary>
internal static class RespReply
{
    /// <summary>Reads a bulk string at <paramref name="offset"/>: <c>$N\r\nBYTES\r\n</c>, or <c>$-1\r\n</c> for nil (value null).</summary>
    public static bool TryReadBulk(byte[] reply, int offset, out string? value, out int next)
    {
        value = null;
        next = offset;
        if (!TryReadHeader(reply, offset, (byte)'$', out var length, out var body))
        {
            return false;
        }

        if (length < 0)
        {
            next = body;
            return length == -1;
        }

        if (body + length + 2 > reply.Length || reply[body + length] != '\r' || reply[body + length + 1] != '\n')
        {
            return false;
        }

        value = Encoding.UTF8.GetString(reply, body, length);
        next = body + length + 2;
        return true;
    }

    /// <summary>Reads a whole reply that is an array of bulk strings.</summary>
    public static bool TryReadArrayOfBulks(byte[] reply, out string?[] values)
    {
        values = [];
        if (!TryReadHeader(reply, 0, (byte)'*', out var count, out var offset) || count < 0)
        {
            return false;
        }

        values = new string?[count];
        for (var i = 0; i < count; i++)
        {
            if (!TryReadBulk(reply, offset, out values[i], out offset))
            {
                return false;
            }
        }

        return offset == reply.Length;
    }

    private static bool TryReadHeader(byte[] reply, int offset, byte type, out int number, out int next)
    {
        number = 0;
        next = offset;
        if (offset >= reply.Length || reply[offset] != type)
        {
            return false;
        }

        var end = Array.IndexOf(reply, (byte)'\r', offset);
        if (end < 0 || end + 1 >= reply.Length || reply[end + 1] != '\n')
        {
            return false;
        }

        next = end + 2;
        return int.TryParse(reply.AsSpan(offset + 1, end - offset - 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number);
    }
}
