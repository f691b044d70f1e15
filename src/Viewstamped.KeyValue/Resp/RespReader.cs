using System.Buffers;

namespace Viewstamped.KeyValue;

/// <summary>What <see cref="RespReader.TryRead"/> found.</summary>
public enum RespReadStatus
{
    /// <summary>The buffer ends inside a command: nothing was consumed; call again with more data.</summary>
    NeedMoreData,

    /// <summary>A command was read and the buffer advanced past it.</summary>
    Command,

    /// <summary>The stream is malformed: reply with the error and close the connection.</summary>
    ProtocolError,
}

/// <summary>
/// Reads pipelined RESP2 requests: arrays of bulk strings, as client libraries send them, and
/// inline commands (<c>PING\r\n</c>, <c>SET k "a b"\r\n</c>), as telnet and redis-cli may send them.
/// Every limit in <see cref="Options"/> is checked from a header before anything is allocated for
/// the data it announces.
/// </summary>
/// <remarks>
/// Use it the way a <c>PipeReader</c> is used: call <see cref="TryRead"/> until it stops returning
/// <see cref="RespReadStatus.Command"/>, then advance the pipe to <c>buffer.Start</c> (consumed) and
/// <c>buffer.End</c> (examined). After <see cref="RespReadStatus.NeedMoreData"/> the next call must
/// get the same unconsumed bytes with more appended — exactly what the pipe returns — because the
/// reader remembers how far it got (the arguments of a large request are parsed once, not again on
/// every read). Call <see cref="Reset"/> when the buffered data is dropped. One reader per
/// connection; not thread-safe.
/// </remarks>
public sealed class RespReader
{
    // '*' or '$', a sign, 19 digits, CR LF.
    private const int HeaderMax = 1 + RespInteger.MaxLength + 2;

    private readonly List<byte[]> arguments = [];
    private RespReaderOptions options;
    private int expected = -1;
    private long consumed;
    private long inlineScanned;
    private long lastLength;

    /// <summary>A reader with the default limits.</summary>
    public RespReader()
        : this(new RespReaderOptions())
    {
    }

    /// <summary>A reader with the given limits.</summary>
    public RespReader(RespReaderOptions options)
    {
        this.options = options.Validate();
    }

    /// <summary>The limits; a change applies from the next request (e.g. larger ones after AUTH).</summary>
    public RespReaderOptions Options
    {
        get => options;
        set => options = value.Validate();
    }

    /// <summary>True when the reader holds progress on a request it has not returned yet.</summary>
    public bool HasPartialCommand => expected >= 0 || inlineScanned > 0;

    /// <summary>Forgets any partial request; call when the buffer's unconsumed bytes are dropped.</summary>
    public void Reset()
    {
        arguments.Clear();
        expected = -1;
        consumed = 0;
        inlineScanned = 0;
        lastLength = 0;
    }

    /// <summary>
    /// Reads the next command from <paramref name="buffer"/>. On <see cref="RespReadStatus.Command"/>
    /// the buffer is advanced past it (and past any empty requests before it) and
    /// <paramref name="command"/> is set; on <see cref="RespReadStatus.NeedMoreData"/> the buffer is
    /// left as it was; on <see cref="RespReadStatus.ProtocolError"/> <paramref name="error"/> holds
    /// the message to send (without the leading '-'), e.g. <c>ERR Protocol error: invalid bulk length</c>.
    /// </summary>
    public RespReadStatus TryRead(ref ReadOnlySequence<byte> buffer, out RespCommand? command, out string? error)
    {
        command = null;
        error = null;
        if (buffer.Length < lastLength)
        {
            throw new InvalidOperationException(
                "after NeedMoreData the reader must get the same unconsumed bytes again (call Reset when they are dropped)");
        }

        Span<byte> end = stackalloc byte[2];
        while (true)
        {
            if (expected < 0)
            {
                if (buffer.IsEmpty)
                {
                    return NeedMore(buffer);
                }

                if (FirstByte(buffer) != (byte)'*')
                {
                    var status = ReadInline(ref buffer, out command, out error);
                    if (status == RespReadStatus.Command && command is null)
                    {
                        continue; // an empty line
                    }

                    return status;
                }

                switch (ReadHeader(buffer, out var headerLength, out var count))
                {
                    case HeaderStatus.NeedMoreData:
                        return NeedMore(buffer);
                    case HeaderStatus.Invalid:
                        return Fail("ERR Protocol error: invalid multibulk length", out error);
                }

                if (count > options.MaxArrayLength)
                {
                    return Fail("ERR Protocol error: invalid multibulk length", out error);
                }

                if (count <= 0)
                {
                    // Redis ignores *0 and *-1 requests.
                    buffer = buffer.Slice(headerLength);
                    lastLength = 0;
                    continue;
                }

                expected = (int)count;
                consumed = headerLength;
                arguments.Clear();
                arguments.EnsureCapacity(Math.Min(expected, 64));
            }

            var rest = buffer.Slice(consumed);
            while (arguments.Count < expected)
            {
                if (rest.IsEmpty)
                {
                    return NeedMore(buffer);
                }

                var first = FirstByte(rest);
                if (first != (byte)'$')
                {
                    return Fail($"ERR Protocol error: expected '$', got '{(char)first}'", out error);
                }

                switch (ReadHeader(rest, out var headerLength, out var length))
                {
                    case HeaderStatus.NeedMoreData:
                        return NeedMore(buffer);
                    case HeaderStatus.Invalid:
                        return Fail("ERR Protocol error: invalid bulk length", out error);
                }

                if (length < 0 || length > options.MaxBulkLength)
                {
                    return Fail("ERR Protocol error: invalid bulk length", out error);
                }

                var total = headerLength + length + 2;
                if (consumed + total > options.MaxRequestLength)
                {
                    return Fail("ERR Protocol error: request too large", out error);
                }

                if (rest.Length < total)
                {
                    return NeedMore(buffer);
                }

                rest.Slice(headerLength + length, 2).CopyTo(end);
                if (end[0] != (byte)'\r' || end[1] != (byte)'\n')
                {
                    return Fail("ERR Protocol error: expected CRLF after bulk string", out error);
                }

                arguments.Add(rest.Slice(headerLength, length).ToArray());
                consumed += total;
                rest = rest.Slice(total);
            }

            command = new RespCommand([.. arguments]);
            buffer = buffer.Slice(consumed);
            Reset();
            return RespReadStatus.Command;
        }
    }

    /// <summary>
    /// The fast path of <see cref="TryRead"/> for requests that arrive whole: when the next request in
    /// <paramref name="data"/> is an array of bulk strings that lies entirely in it, within the limits,
    /// returns its length in bytes and puts the ranges of its arguments (into <paramref name="data"/>,
    /// the command name first) in <paramref name="arguments"/>, copying nothing. Returns 0 for anything
    /// else — a partial request, an inline or empty one, a malformed one, one past a limit, or any
    /// request while the reader holds a partial one — which <see cref="TryRead"/> then reads (and
    /// reports) as usual. The caller advances its buffer past the returned length before it calls
    /// <see cref="TryRead"/> again.
    /// </summary>
    /// <param name="data">The unconsumed bytes, or their first segment.</param>
    /// <param name="arguments">Reused when large enough, else replaced by a larger array.</param>
    /// <param name="count">The number of arguments, the command name included.</param>
    public int TryReadWhole(ReadOnlySpan<byte> data, ref Range[] arguments, out int count)
    {
        count = 0;
        if (HasPartialCommand || !TryReadWholeHeader(data, 0, (byte)'*', out var at, out var length)
            || length <= 0 || length > options.MaxArrayLength)
        {
            return 0;
        }

        if (arguments.Length < length)
        {
            if (length > data.Length / 4)
            {
                return 0; // each argument takes at least 4 bytes ("$0\r\n" and CRLF): it cannot be whole
            }

            arguments = new Range[Math.Max(length, 2 * arguments.Length)];
        }

        for (var i = 0; i < length; i++)
        {
            if (!TryReadWholeHeader(data, at, (byte)'$', out var start, out var bulk) || bulk < 0 || bulk > options.MaxBulkLength)
            {
                return 0;
            }

            var end = start + bulk;
            if (end + 2 > options.MaxRequestLength || end + 2 > data.Length || data[(int)end] != (byte)'\r' || data[(int)end + 1] != (byte)'\n')
            {
                return 0;
            }

            arguments[i] = new Range(start, (int)end);
            at = (int)end + 2;
        }

        count = (int)length;
        lastLength = 0;
        return at;
    }

    /// <summary>Reads <c>*n\r\n</c> or <c>$n\r\n</c> (per <paramref name="marker"/>) at <paramref name="at"/> as <see cref="ReadHeader"/> accepts it.</summary>
    private static bool TryReadWholeHeader(ReadOnlySpan<byte> data, int at, byte marker, out int next, out long value)
    {
        next = 0;
        value = 0;
        if (at >= data.Length || data[at] != marker)
        {
            return false;
        }

        var line = data.Slice(at, Math.Min(data.Length - at, HeaderMax));
        var cr = line.IndexOfAny((byte)'\r', (byte)'\n');
        if (cr < 0 || line[cr] != (byte)'\r' || cr + 1 >= line.Length || line[cr + 1] != (byte)'\n' || !RespInteger.TryParse(line[1..cr], out value))
        {
            return false;
        }

        next = at + cr + 2;
        return true;
    }

    private RespReadStatus ReadInline(ref ReadOnlySequence<byte> buffer, out RespCommand? command, out string? error)
    {
        command = null;
        error = null;

        // The line, an optional CR, then LF.
        var window = Math.Min(buffer.Length, (long)options.MaxInlineLength + 2);
        var newline = buffer.Slice(inlineScanned, window - inlineScanned).PositionOf((byte)'\n');
        if (newline is null)
        {
            if (window == (long)options.MaxInlineLength + 2)
            {
                return Fail("ERR Protocol error: too big inline request", out error);
            }

            inlineScanned = window;
            return NeedMore(buffer);
        }

        var raw = buffer.Slice(0, newline.Value).ToArray();
        var line = raw.AsSpan();
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (line.Length > options.MaxInlineLength)
        {
            return Fail("ERR Protocol error: too big inline request", out error);
        }

        var parsed = new List<byte[]>();
        if (!InlineSplitter.TrySplit(line, parsed))
        {
            return Fail("ERR Protocol error: unbalanced quotes in request", out error);
        }

        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        Reset();
        if (parsed.Count > 0)
        {
            command = new RespCommand([.. parsed]);
        }

        return RespReadStatus.Command;
    }

    private static byte FirstByte(ReadOnlySequence<byte> data)
    {
        // The first segment may be empty.
        foreach (var segment in data)
        {
            if (!segment.IsEmpty)
            {
                return segment.Span[0];
            }
        }

        throw new InvalidOperationException("empty buffer");
    }

    private RespReadStatus NeedMore(ReadOnlySequence<byte> buffer)
    {
        lastLength = buffer.Length;
        return RespReadStatus.NeedMoreData;
    }

    private RespReadStatus Fail(string message, out string? error)
    {
        error = message;
        Reset();
        return RespReadStatus.ProtocolError;
    }

    /// <summary>Reads <c>*n\r\n</c> or <c>$n\r\n</c> at the start of <paramref name="data"/>.</summary>
    private static HeaderStatus ReadHeader(ReadOnlySequence<byte> data, out int headerLength, out long value)
    {
        headerLength = 0;
        value = 0;
        Span<byte> window = stackalloc byte[HeaderMax];
        var available = (int)Math.Min(data.Length, HeaderMax);
        data.Slice(0, available).CopyTo(window);
        var line = window[..available];
        var cr = line.IndexOfAny((byte)'\r', (byte)'\n');
        if (cr >= 0 && line[cr] == (byte)'\n')
        {
            return HeaderStatus.Invalid;
        }

        if (cr < 0 || cr + 1 >= available)
        {
            return available == HeaderMax ? HeaderStatus.Invalid : HeaderStatus.NeedMoreData;
        }

        if (line[cr + 1] != (byte)'\n' || !RespInteger.TryParse(line[1..cr], out value))
        {
            return HeaderStatus.Invalid;
        }

        headerLength = cr + 2;
        return HeaderStatus.Complete;
    }

    private enum HeaderStatus
    {
        Complete,
        NeedMoreData,
        Invalid,
    }
}
