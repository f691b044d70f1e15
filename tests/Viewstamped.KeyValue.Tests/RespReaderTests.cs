using System.Buffers;
using System.Text;

namespace Viewstamped.KeyValue.Tests;

public sealed class RespReaderTests
{
    private const string Pipeline =
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n" +
        "PING\r\n" +
        "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n" +
        "\r\n" +
        "*0\r\n" +
        "set  \"a b\" 'c\\'d'\n" +
        "*1\r\n$0\r\n\r\n";

    private static readonly string[][] PipelineCommands =
    [
        ["SET", "key", "va\r\nl"],
        ["PING"],
        ["GET", "key"],
        ["set", "a b", "c'd"],
        [""],
    ];

    /// <summary>Reads every command of a complete buffer.</summary>
    private static List<string[]> ReadAll(RespReader reader, ref ReadOnlySequence<byte> buffer)
    {
        var commands = new List<string[]>();
        while (true)
        {
            var status = reader.TryRead(ref buffer, out var command, out var error);
            if (status == RespReadStatus.NeedMoreData)
            {
                return commands;
            }

            Assert.True(status == RespReadStatus.Command, error);
            commands.Add(command!.Arguments.Select(a => Text.Of(a)).ToArray());
        }
    }

    private static (RespReadStatus Status, string? Error) ReadOne(string stream, RespReaderOptions? options = null)
    {
        var reader = new RespReader(options ?? new RespReaderOptions());
        var buffer = new ReadOnlySequence<byte>(Text.Bytes(stream));
        var status = reader.TryRead(ref buffer, out _, out var error);
        return (status, error);
    }

    [Fact]
    public void Reads_a_pipeline_of_array_and_inline_commands()
    {
        var buffer = new ReadOnlySequence<byte>(Text.Bytes(Pipeline));
        var commands = ReadAll(new RespReader(), ref buffer);
        Assert.Equal(PipelineCommands, commands);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Reads_the_pipeline_split_into_two_segments_at_every_position()
    {
        var data = Text.Bytes(Pipeline);
        for (var cut = 0; cut <= data.Length; cut++)
        {
            var buffer = Segment.Split(data, cut);
            Assert.Equal(PipelineCommands, ReadAll(new RespReader(), ref buffer));
            Assert.True(buffer.IsEmpty, $"cut at {cut}");
        }
    }

    [Fact]
    public void Reads_the_pipeline_in_one_byte_segments()
    {
        var data = Text.Bytes(Pipeline);
        var buffer = Segment.Sequence(data.Select(b => new[] { b }).ToArray());
        Assert.Equal(PipelineCommands, ReadAll(new RespReader(), ref buffer));
    }

    [Fact]
    public void Reads_the_pipeline_arriving_one_byte_at_a_time_as_from_a_pipe()
    {
        // The pipe hands back the unconsumed bytes plus what arrived; the reader resumes.
        var data = Text.Bytes(Pipeline);
        for (var chunk = 1; chunk <= 7; chunk++)
        {
            var reader = new RespReader();
            var commands = new List<string[]>();
            var start = 0;
            for (var end = Math.Min(chunk, data.Length); ; end = Math.Min(end + chunk, data.Length))
            {
                // A fresh two-segment view of the unconsumed bytes each time, as a pipe may give.
                var mid = start + ((end - start) / 2);
                var buffer = Segment.Split(data[start..end], mid - start);
                var length = buffer.Length;
                commands.AddRange(ReadAll(reader, ref buffer));
                start += (int)(length - buffer.Length);
                if (end == data.Length)
                {
                    break;
                }
            }

            Assert.Equal(PipelineCommands, commands);
            Assert.Equal(data.Length, start);
        }
    }

    [Fact]
    public void Need_more_data_consumes_nothing()
    {
        var data = Text.Bytes("*2\r\n$3\r\nGET\r\n$3\r\nke");
        var buffer = new ReadOnlySequence<byte>(data);
        var reader = new RespReader();
        Assert.Equal(RespReadStatus.NeedMoreData, reader.TryRead(ref buffer, out var command, out var error));
        Assert.Null(command);
        Assert.Null(error);
        Assert.Equal(data.Length, buffer.Length);
        Assert.True(reader.HasPartialCommand);

        buffer = new ReadOnlySequence<byte>(Text.Bytes("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n+"));
        Assert.Equal(RespReadStatus.Command, reader.TryRead(ref buffer, out command, out _));
        Assert.Equal(["GET", "key"], command!.Arguments.Select(a => Text.Of(a)));
        Assert.Equal(1, buffer.Length);
    }

    [Fact]
    public void A_shorter_buffer_after_need_more_data_is_a_caller_bug()
    {
        var reader = new RespReader();
        var buffer = new ReadOnlySequence<byte>(Text.Bytes("*2\r\n$3\r\nGET\r\n"));
        Assert.Equal(RespReadStatus.NeedMoreData, reader.TryRead(ref buffer, out _, out _));
        var shorter = new ReadOnlySequence<byte>(Text.Bytes("*2\r\n"));
        Assert.Throws<InvalidOperationException>(() => reader.TryRead(ref shorter, out _, out _));

        reader.Reset();
        Assert.Equal(RespReadStatus.NeedMoreData, reader.TryRead(ref shorter, out _, out _));
    }

    [Fact]
    public void Bulk_strings_are_binary_safe()
    {
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var request = RespCommand.FromStrings("SET", "k").Arguments.Append(value).ToArray();
        var buffer = new ReadOnlySequence<byte>(new RespCommand(request).ToResp());
        Assert.Equal(RespReadStatus.Command, new RespReader().TryRead(ref buffer, out var command, out _));
        Assert.Equal(value, command!.Arguments[2]);
    }

    [Theory]
    [InlineData("PING\r\n", new[] { "PING" })]
    [InlineData("PING\n", new[] { "PING" })]
    [InlineData("  get   key  \r\n", new[] { "get", "key" })]
    [InlineData("\tECHO\t\"hello world\"\r\n", new[] { "ECHO", "hello world" })]
    [InlineData("SET k \"\\x41\\x4a\\n\\r\\t\\\\\\\"\"\r\n", new[] { "SET", "k", "AJ\n\r\t\\\"" })]
    [InlineData("SET k \"\\x4\"\r\n", new[] { "SET", "k", "x4" })]
    [InlineData("SET k 'it\\'s \\n'\r\n", new[] { "SET", "k", "it's \\n" })]
    [InlineData("SET k \"\"\r\n", new[] { "SET", "k", "" })]
    [InlineData("SET k ab\"c d\" x\r\n", new[] { "SET", "k", "abc d", "x" })]
    public void Reads_inline_commands_as_redis_splits_them(string line, string[] expected)
    {
        var buffer = new ReadOnlySequence<byte>(Text.Bytes(line));
        Assert.Equal(RespReadStatus.Command, new RespReader().TryRead(ref buffer, out var command, out var error));
        Assert.Null(error);
        Assert.Equal(expected, command!.Arguments.Select(a => Text.Of(a)));
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Skips_empty_lines_and_empty_arrays()
    {
        var buffer = new ReadOnlySequence<byte>(Text.Bytes("\r\n\n   \r\n*0\r\n*-1\r\n"));
        var reader = new RespReader();
        Assert.Equal(RespReadStatus.NeedMoreData, reader.TryRead(ref buffer, out var command, out _));
        Assert.Null(command);
        Assert.True(buffer.IsEmpty);
    }

    [Theory]
    [InlineData("SET k \"abc\r\n", "ERR Protocol error: unbalanced quotes in request")]
    [InlineData("SET k \"abc\"d\r\n", "ERR Protocol error: unbalanced quotes in request")]
    [InlineData("SET k 'abc\r\n", "ERR Protocol error: unbalanced quotes in request")]
    [InlineData("SET k 'abc'd\r\n", "ERR Protocol error: unbalanced quotes in request")]
    [InlineData("*abc\r\n", "ERR Protocol error: invalid multibulk length")]
    [InlineData("*01\r\n", "ERR Protocol error: invalid multibulk length")]
    [InlineData("*+1\r\n", "ERR Protocol error: invalid multibulk length")]
    [InlineData("*1\n", "ERR Protocol error: invalid multibulk length")]
    [InlineData("*1\rX", "ERR Protocol error: invalid multibulk length")]
    [InlineData("*123456789012345678901234", "ERR Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'")]
    [InlineData("*1\r\n*1\r\n", "ERR Protocol error: expected '$', got '*'")]
    [InlineData("*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$x\r\n", "ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$ 3\r\n", "ERR Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$3\r\nabcXY", "ERR Protocol error: expected CRLF after bulk string")]
    [InlineData("*1\r\n$3\r\nabc\rY", "ERR Protocol error: expected CRLF after bulk string")]
    public void Rejects_malformed_streams(string stream, string expected)
    {
        var (status, error) = ReadOne(stream);
        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Commands_before_a_malformed_one_are_returned_first()
    {
        var buffer = new ReadOnlySequence<byte>(Text.Bytes("PING\r\n*1\r\n:1\r\n"));
        var reader = new RespReader();
        Assert.Equal(RespReadStatus.Command, reader.TryRead(ref buffer, out _, out _));
        Assert.Equal(RespReadStatus.ProtocolError, reader.TryRead(ref buffer, out _, out _));
    }

    [Fact]
    public void Rejects_an_oversized_bulk_from_its_header_before_the_data_arrives()
    {
        var options = new RespReaderOptions { MaxBulkLength = 1000 };
        Assert.Equal(RespReadStatus.NeedMoreData, ReadOne("*2\r\n$3\r\nGET\r\n$1000\r\n", options).Status);
        AssertRejectedWithoutAllocating("*2\r\n$3\r\nGET\r\n$1001\r\n", "ERR Protocol error: invalid bulk length", options);

        // The default limit is 16 MiB; Redis's 512 MB header is refused outright.
        AssertRejectedWithoutAllocating("*1\r\n$536870912\r\n", "ERR Protocol error: invalid bulk length", new RespReaderOptions());
        AssertRejectedWithoutAllocating("*1\r\n$9223372036854775807\r\n", "ERR Protocol error: invalid bulk length", new RespReaderOptions());
    }

    [Fact]
    public void Rejects_an_oversized_array_from_its_header()
    {
        var options = new RespReaderOptions { MaxArrayLength = 3 };
        Assert.Equal(RespReadStatus.NeedMoreData, ReadOne("*3\r\n", options).Status);
        AssertRejectedWithoutAllocating("*4\r\n", "ERR Protocol error: invalid multibulk length", options);
        AssertRejectedWithoutAllocating("*2147483648\r\n", "ERR Protocol error: invalid multibulk length", new RespReaderOptions());
    }

    [Fact]
    public void Rejects_a_request_larger_than_the_request_limit()
    {
        var options = new RespReaderOptions { MaxBulkLength = 100, MaxRequestLength = 30 };
        Assert.Equal(RespReadStatus.NeedMoreData, ReadOne("*2\r\n$3\r\nSET\r\n$5\r\n", options).Status);
        var (status, error) = ReadOne("*2\r\n$3\r\nSET\r\n$20\r\n", options);
        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal("ERR Protocol error: request too large", error);
    }

    [Fact]
    public void Rejects_a_too_long_inline_line()
    {
        var options = new RespReaderOptions { MaxInlineLength = 10 };
        Assert.Equal(RespReadStatus.Command, ReadOne("0123456789\r\n", options).Status);
        Assert.Equal(RespReadStatus.NeedMoreData, ReadOne("0123456789\r", options).Status);
        Assert.Equal(RespReadStatus.ProtocolError, ReadOne("0123456789A\r\n", options).Status);
        var (status, error) = ReadOne("0123456789AB", options);
        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal("ERR Protocol error: too big inline request", error);

        // Default: 64 KiB without a line end.
        Assert.Equal(RespReadStatus.ProtocolError, ReadOne(new string('a', (64 << 10) + 2)).Status);
        Assert.Equal(RespReadStatus.NeedMoreData, ReadOne(new string('a', 64 << 10)).Status);
    }

    [Fact]
    public void Unauthenticated_limits_are_small()
    {
        var limits = RespReaderOptions.Unauthenticated;
        Assert.Equal(RespReadStatus.ProtocolError, ReadOne("*11\r\n", limits).Status);
        Assert.Equal(RespReadStatus.ProtocolError, ReadOne("*2\r\n$4\r\nAUTH\r\n$100000\r\n", limits).Status);
        Assert.Equal(RespReadStatus.Command, ReadOne("*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n", limits).Status);
    }

    [Fact]
    public void A_large_request_arriving_in_small_pieces_is_parsed_in_linear_time()
    {
        // 100k arguments delivered 64 bytes at a time: each argument is parsed once.
        var arguments = Enumerable.Range(0, 100_000).Select(i => Encoding.ASCII.GetBytes($"k{i}")).ToArray();
        var data = new RespCommand(arguments).ToResp();
        var reader = new RespReader();
        RespCommand? command = null;
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (var end = 64; command is null; end = Math.Min(end + 64, data.Length))
        {
            var buffer = new ReadOnlySequence<byte>(data, 0, end);
            reader.TryRead(ref buffer, out command, out _);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.Equal(arguments.Length, command.Count);
        Assert.Equal("k99999", Text.Of(command[99_999]));
        Assert.True(allocated < 20_000_000, $"allocated {allocated} bytes");
    }

    private static void AssertRejectedWithoutAllocating(string stream, string expected, RespReaderOptions options)
    {
        var reader = new RespReader(options);
        var buffer = new ReadOnlySequence<byte>(Text.Bytes(stream));
        var before = GC.GetAllocatedBytesForCurrentThread();
        var status = reader.TryRead(ref buffer, out _, out var error);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(RespReadStatus.ProtocolError, status);
        Assert.Equal(expected, error);
        Assert.True(allocated < 4096, $"allocated {allocated} bytes");
    }
}
