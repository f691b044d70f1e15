using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Viewstamped.KeyValue.Server.Tests;

/// <summary>A raw RESP2 client: sends commands as arrays of bulk strings, reads replies as text.</summary>
/// <remarks>Replies render as <c>+OK</c>, <c>-ERR ...</c>, <c>:5</c>, <c>$value</c>, <c>$nil</c>, <c>[a, b]</c>.</remarks>
public sealed class RawRespClient : IAsyncDisposable
{
    private static readonly TimeSpan timeout = TimeSpan.FromSeconds(20);
    private readonly TcpClient tcp;
    private readonly NetworkStream stream;
    private readonly BufferedStream input;

    private RawRespClient(TcpClient tcp)
    {
        this.tcp = tcp;
        stream = tcp.GetStream();
        input = new BufferedStream(stream);
    }

    public static async Task<RawRespClient> ConnectAsync(IPEndPoint endpoint)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(endpoint);
        return new RawRespClient(tcp);
    }

    public static byte[] Encode(params string[] arguments)
    {
        var text = new StringBuilder();
        text.Append('*').Append(arguments.Length).Append("\r\n");
        foreach (var argument in arguments)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(argument)).Append("\r\n").Append(argument).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    public async Task SendRawAsync(byte[] bytes) => await stream.WriteAsync(bytes);

    public async Task<string> CallAsync(params string[] arguments)
    {
        await SendRawAsync(Encode(arguments));
        return await ReadAsync();
    }

    public Task<string> ReadAsync() => Task.Run(ReadReply).WaitAsync(timeout);

    /// <summary>True when the server closed the connection (reads return end of stream).</summary>
    public async Task<bool> IsClosedAsync()
    {
        var buffer = new byte[1];
        try
        {
            return await Task.Run(() => input.Read(buffer, 0, 1)).WaitAsync(timeout) == 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await input.DisposeAsync();
        tcp.Dispose();
    }

    private string ReadReply()
    {
        var line = ReadLine();
        switch (line[0])
        {
            case '+' or '-' or ':':
                return line;
            case '$':
                var length = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return "$nil";
                }

                var data = new byte[length + 2];
                input.ReadExactly(data);
                return "$" + Encoding.UTF8.GetString(data, 0, length);
            case '*':
                var count = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return "[nil]";
                }

                var items = new List<string>();
                for (var i = 0; i < count; i++)
                {
                    items.Add(ReadReply());
                }

                return "[" + string.Join(", ", items) + "]";
            default:
                throw new InvalidDataException($"unexpected reply line {line}");
        }
    }

    private string ReadLine()
    {
        var bytes = new List<byte>();
        while (true)
        {
            var b = input.ReadByte();
            if (b < 0)
            {
                throw new EndOfStreamException("the server closed the connection");
            }

            if (b == '\n' && bytes.Count > 0 && bytes[^1] == '\r')
            {
                bytes.RemoveAt(bytes.Count - 1);
                return Encoding.UTF8.GetString(bytes.ToArray());
            }

            bytes.Add((byte)b);
        }
    }
}
