using System.Net.Sockets;
using System.Text;

namespace Viewstamped.Cli.Tests;

/// <summary>A minimal RESP2 client for tests: sends one command, reads one reply and renders it as text.</summary>
internal sealed class RespConnection : IDisposable
{
    private readonly TcpClient tcp;
    private readonly NetworkStream stream;
    private readonly StreamReader reader;

    private RespConnection(TcpClient tcp)
    {
        this.tcp = tcp;
        stream = tcp.GetStream();
        reader = new StreamReader(stream, Encoding.UTF8);
    }

    public static async Task<RespConnection> ConnectAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        tcp.ReceiveTimeout = 10_000;
        return new RespConnection(tcp);
    }

    /// <summary>Sends the command; returns a simple string or error line as is (<c>+OK</c>, <c>-ERR ...</c>), an integer as <c>:N</c>, a bulk string as its text, nil as <c>(nil)</c>.</summary>
    public async Task<string> SendAsync(params string[] command)
    {
        var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
        foreach (var part in command)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var line = await reader.ReadLineAsync(timeout.Token) ?? throw new IOException("the server closed the connection");
        if (line.StartsWith('$'))
        {
            return line == "$-1" ? "(nil)" : await reader.ReadLineAsync(timeout.Token) ?? throw new IOException("the server closed the connection");
        }

        return line;
    }

    public void Dispose()
    {
        reader.Dispose();
        tcp.Dispose();
    }
}
