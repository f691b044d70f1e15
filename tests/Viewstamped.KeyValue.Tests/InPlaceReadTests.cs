using System.Buffers;
using static Viewstamped.KeyValue.Tests.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>
/// The fast path a server takes for replicated commands that arrive whole: reading a request in place
/// (<see cref="RespReader.TryReadWhole"/>), deciding it (<see cref="ConnectionState.TryGetReplicated"/>)
/// and encoding it into a run (<see cref="OperationRun.Add(CommandCode, ReadOnlySpan{byte}, ReadOnlySpan{Range})"/>)
/// must agree with the general path in every case it takes, and leave every other case to it.
/// </summary>
public sealed class InPlaceReadTests
{
    private const string Set = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n";

    private static readonly string[] Streams =
    [
        Set + "*2\r\n$3\r\nget\r\n$3\r\nkey\r\n",
        "*1\r\n$0\r\n\r\n",
        "PING\r\n",
        "\r\n*0\r\n",
        "*-1\r\n",
        "*abc\r\n", "*01\r\n", "*+1\r\n", "*1\n", "*1\rX", "*123456789012345678901234",
        "*1\r\n:1\r\n", "*1\r\n$-1\r\n", "*1\r\n$x\r\n", "*1\r\n$ 3\r\n", "*1\r\n$3\r\nabcXY", "*1\r\n$3\r\nabc\rY",
        "*2\r\n$3\r\nGET\r\n$1001\r\n" + new string('x', 1001) + "\r\n",
        "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
        "*2\r\n$3\r\nSET\r\n$20\r\n01234567890123456789\r\n",
    ];

    private static readonly RespReaderOptions Limits = new() { MaxBulkLength = 1000, MaxArrayLength = 3, MaxRequestLength = 40 };

    public static TheoryData<string> Cases() => [.. Streams];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Takes_only_whole_requests_and_reads_them_as_TryRead_does(string stream)
    {
        foreach (var options in new[] { new RespReaderOptions(), Limits })
        {
            var bytes = Bytes(stream);
            for (var cut = 0; cut <= bytes.Length; cut++)
            {
                var data = bytes.AsSpan(0, cut);
                var ranges = new Range[1];
                var length = new RespReader(options).TryReadWhole(data, ref ranges, out var count);
                var buffer = new ReadOnlySequence<byte>(bytes, 0, cut);
                var status = new RespReader(options).TryRead(ref buffer, out var command, out _);
                if (length == 0)
                {
                    continue;
                }

                Assert.Equal(RespReadStatus.Command, status);
                Assert.Equal(cut - length, buffer.Length);
                Assert.Equal(command!.Arguments.Select(a => Of(a)), ranges[..count].Select(r => Of(bytes.AsSpan(0, cut)[r])));
            }
        }
    }

    [Fact]
    public void Reads_a_pipeline_of_whole_commands_without_the_reader_holding_anything()
    {
        var data = Bytes(Set + Set + "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
        var reader = new RespReader();
        var ranges = Array.Empty<Range>();
        var at = 0;
        var names = new List<string>();
        while (reader.TryReadWhole(data.AsSpan(at), ref ranges, out var count) is var length and > 0)
        {
            names.Add(Of(data.AsSpan(at)[ranges[0]]) + "/" + count);
            at += length;
        }

        Assert.Equal(["SET/3", "SET/3", "GET/2"], names);
        Assert.Equal(data.Length, at);
        Assert.False(reader.HasPartialCommand);
    }

    [Fact]
    public void Leaves_the_request_to_TryRead_while_the_reader_holds_a_partial_one()
    {
        var reader = new RespReader();
        var partial = new ReadOnlySequence<byte>(Bytes("*3\r\n$3\r\nSET\r\n"));
        Assert.Equal(RespReadStatus.NeedMoreData, reader.TryRead(ref partial, out _, out _));
        var ranges = Array.Empty<Range>();
        Assert.Equal(0, reader.TryReadWhole(Bytes(Set), ref ranges, out _));
    }

    [Fact]
    public void Only_replicated_commands_the_connection_may_run_take_the_fast_path_and_encode_as_Process_does()
    {
        var connection = new ConnectionState(1);
        Assert.Equal(Encoded(connection, "SET", "k", "v"), KeyValueOperation.Encode("SET", "k", "v"));
        Assert.Equal(Encoded(connection, "set", "k", "v", "PX", "100"), KeyValueOperation.Encode("SET", "k", "v", "PX", "100"));
        Assert.Equal(Encoded(connection, "GeT", "k"), KeyValueOperation.Encode("GET", "k"));
        Assert.Equal(Encoded(connection, "MSET", "a", "1", "b", "2"), KeyValueOperation.Encode("MSET", "a", "1", "b", "2"));

        Assert.Null(Encoded(connection, "GET", "k", "extra")); // Process answers the arity error
        Assert.Null(Encoded(connection, "PING"));
        Assert.Null(Encoded(connection, "FLUSHALL"));
        Assert.Null(Encoded(new ConnectionState(2, new ConnectionOptions { RequirePass = "pw" }), "GET", "k")); // NOAUTH
    }

    /// <summary>The operation the fast path adds for a command, or null when it leaves it to <see cref="ConnectionState.Process"/>.</summary>
    private static byte[]? Encoded(ConnectionState connection, params string[] arguments)
    {
        var request = RespCommand.FromStrings(arguments).ToResp();
        var ranges = Array.Empty<Range>();
        var length = new RespReader().TryReadWhole(request, ref ranges, out var count);
        Assert.Equal(request.Length, length);
        if (!connection.TryGetReplicated(request, ranges.AsSpan(0, count), out var code))
        {
            return null;
        }

        var run = new OperationRun();
        run.Add(code, request, ranges.AsSpan(0, count));
        Assert.Equal(OperationRun.ItemLength((int)KeyValueOperation.SizeOf(request, ranges.AsSpan(0, count))), run.Length);
        return run.First.ToArray();
    }
}
