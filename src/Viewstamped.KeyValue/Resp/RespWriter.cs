using System.Buffers;
using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>
/// Writes RESP2 values to a buffer writer: simple strings, errors, integers, bulk strings (and the
/// null bulk string), arrays (and the null array). Simple strings and errors cannot hold CR or LF;
/// like Redis, the writer replaces them with spaces so a reply never breaks the stream.
/// </summary>
/// <param name="output">Where the bytes go.</param>
public readonly struct RespWriter(IBufferWriter<byte> output)
{
    /// <summary>Writes <c>+text\r\n</c>.</summary>
    public void WriteSimpleString(string text) => WriteLine((byte)'+', text);

    /// <summary>Writes <c>+text\r\n</c> from bytes.</summary>
    public void WriteSimpleString(ReadOnlySpan<byte> text) => WriteLine((byte)'+', text);

    /// <summary>Writes <c>-message\r\n</c>; the message starts with its code, e.g. <c>ERR syntax error</c>.</summary>
    public void WriteError(string message) => WriteLine((byte)'-', message);

    /// <summary>Writes <c>-message\r\n</c> from bytes.</summary>
    public void WriteError(ReadOnlySpan<byte> message) => WriteLine((byte)'-', message);

    /// <summary>Writes <c>:value\r\n</c>.</summary>
    public void WriteInteger(long value)
    {
        var span = output.GetSpan(RespInteger.MaxLength + 3);
        span[0] = (byte)':';
        var length = 1 + RespInteger.Format(value, span[1..]);
        span[length] = (byte)'\r';
        span[length + 1] = (byte)'\n';
        output.Advance(length + 2);
    }

    /// <summary>Writes <c>$length\r\nbytes\r\n</c>.</summary>
    public void WriteBulkString(ReadOnlySpan<byte> value)
    {
        WriteHeader((byte)'$', value.Length);
        output.Write(value);
        output.Write("\r\n"u8);
    }

    /// <summary>Writes <paramref name="value"/> as a UTF-8 bulk string.</summary>
    public void WriteBulkString(string value) => WriteBulkString(Encoding.UTF8.GetBytes(value));

    /// <summary>Writes the null bulk string <c>$-1\r\n</c>.</summary>
    public void WriteNullBulkString() => output.Write("$-1\r\n"u8);

    /// <summary>Writes <c>*count\r\n</c>; the caller then writes <paramref name="count"/> values.</summary>
    public void WriteArrayHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteHeader((byte)'*', count);
    }

    /// <summary>Writes the null array <c>*-1\r\n</c>.</summary>
    public void WriteNullArray() => output.Write("*-1\r\n"u8);

    /// <summary>Writes bytes that already are RESP (a reply built elsewhere).</summary>
    public void WriteRaw(ReadOnlySpan<byte> resp) => output.Write(resp);

    private void WriteHeader(byte prefix, long length)
    {
        var span = output.GetSpan(RespInteger.MaxLength + 3);
        span[0] = prefix;
        var used = 1 + RespInteger.Format(length, span[1..]);
        span[used] = (byte)'\r';
        span[used + 1] = (byte)'\n';
        output.Advance(used + 2);
    }

    private void WriteLine(byte prefix, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        var span = output.GetSpan(length + 3);
        span[0] = prefix;
        Encoding.UTF8.GetBytes(text, span[1..]);
        Sanitize(span.Slice(1, length));
        span[length + 1] = (byte)'\r';
        span[length + 2] = (byte)'\n';
        output.Advance(length + 3);
    }

    private void WriteLine(byte prefix, ReadOnlySpan<byte> text)
    {
        var span = output.GetSpan(text.Length + 3);
        span[0] = prefix;
        text.CopyTo(span[1..]);
        Sanitize(span.Slice(1, text.Length));
        span[text.Length + 1] = (byte)'\r';
        span[text.Length + 2] = (byte)'\n';
        output.Advance(text.Length + 3);
    }

    private static void Sanitize(Span<byte> line)
    {
        // Redis does the same to error strings: a CR or LF would end the line early.
        line.Replace((byte)'\r', (byte)' ');
        line.Replace((byte)'\n', (byte)' ');
    }
}
