using System.Buffers;
using System.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>
/// What a server does, without sockets or replication: bytes in, reader, connection state, the
/// service executing replicated operations at once, bytes out.
/// </summary>
public sealed class EndToEndTests
{
    private static string Serve(string input, string? password = null)
    {
        var service = new KeyValueService(() => 1_000);
        var connection = new ConnectionState(1, new ConnectionOptions { RequirePass = password });
        var reader = new RespReader();
        var output = new StringBuilder();
        var buffer = new ReadOnlySequence<byte>(Text.Bytes(input));
        while (true)
        {
            reader.Options = connection.ReaderOptions(new RespReaderOptions());
            var status = reader.TryRead(ref buffer, out var command, out var error);
            if (status == RespReadStatus.NeedMoreData)
            {
                return output.ToString();
            }

            if (status == RespReadStatus.ProtocolError)
            {
                return output.Append(Text.Of(Resp.Error(error!))).Append("<closed>").ToString();
            }

            var outcome = connection.Process(command!);
            var reply = outcome.Action == CommandAction.Replicate
                ? service.Execute(outcome.Operation, service.Predict(outcome.Operation))
                : outcome.Reply;
            output.Append(Text.Of(reply));
            if (outcome.Action == CommandAction.ReplyAndClose)
            {
                return output.Append("<closed>").ToString();
            }
        }
    }

    [Fact]
    public void A_pipelined_conversation()
    {
        var input =
            "PING\r\n" +
            "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n" +
            "GET key\r\n" +
            "*3\r\n$6\r\nAPPEND\r\n$3\r\nkey\r\n$6\r\n world\r\n" +
            "MGET key nope\r\n" +
            "INCR key\r\n" +
            "CAS key \"hello world\" bye\r\n" +
            "FOO bar\r\n" +
            "QUIT\r\n" +
            "PING\r\n";
        Assert.Equal(
            "+PONG\r\n" +
            "+OK\r\n" +
            "$5\r\nhello\r\n" +
            ":11\r\n" +
            "*2\r\n$11\r\nhello world\r\n$-1\r\n" +
            "-ERR value is not an integer or out of range\r\n" +
            ":1\r\n" +
            "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n" +
            "+OK\r\n<closed>",
            Serve(input));
    }

    [Fact]
    public void A_password_protected_conversation()
    {
        var input = "GET k\r\nAUTH wrong\r\nAUTH pw\r\nSET k v\r\nGET k\r\n";
        Assert.Equal(
            "-NOAUTH Authentication required.\r\n" +
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n" +
            "+OK\r\n+OK\r\n$1\r\nv\r\n",
            Serve(input, password: "pw"));
    }

    [Fact]
    public void A_large_request_before_authentication_closes_the_connection()
    {
        var input = "*2\r\n$3\r\nGET\r\n$100000\r\n";
        Assert.Equal("-ERR Protocol error: invalid bulk length\r\n<closed>", Serve(input, password: "pw"));
    }

    [Fact]
    public void A_malformed_stream_closes_the_connection_after_the_replies_before_it()
    {
        Assert.Equal("+PONG\r\n-ERR Protocol error: expected '$', got ':'\r\n<closed>", Serve("PING\r\n*1\r\n:5\r\n"));
    }
}
