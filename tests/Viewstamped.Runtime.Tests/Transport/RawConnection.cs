using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net.Sockets;
using Viewstamped.Codec;
using Viewstamped.Messages;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Runtime.Tests.Transport;

/// <summary>A hand-driven TCP connection to a replica, for sending what a real peer never would.</summary>
public sealed class RawConnection : IAsyncDisposable
{
    private readonly Socket socket;
    private readonly NetworkStream stream;
    private HandshakeResult? session;

    private RawConnection(Socket socket)
    {
        this.socket = socket;
        stream = new NetworkStream(socket, ownsSocket: false);
    }

    public static async Task<RawConnection> ConnectAsync(string endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await socket.ConnectAsync(Endpoints.Parse(endpoint), timeout.Token);
        return new RawConnection(socket);
    }

    internal async Task<HandshakeResult> HandshakeAsync(UInt128 cluster, ClusterKey? key, PeerRole role = PeerRole.Client, byte replica = byte.MaxValue, bool traceContext = false)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        session = await Handshake.InitiateAsync(stream, cluster, role, new ReplicaIndex(replica), null, key, traceContext, timeout.Token);
        return session;
    }

    public async Task SendRawAsync(byte[] bytes) => await stream.WriteAsync(bytes);

    /// <summary>
    /// Sends a frame, then <paramref name="extension"/> (the trace context extension, when the session
    /// agreed to one), then the authentication tag when the session has one, computed over
    /// <paramref name="signedExtension"/> (default: the extension sent).
    /// </summary>
    public async Task SendFrameAsync(byte[] frame, byte[]? extension = null, byte[]? signedExtension = null)
    {
        extension ??= [];
        await stream.WriteAsync(frame);
        await stream.WriteAsync(extension);
        if (session?.Signer is { } signer)
        {
            var tag = new byte[FrameAuthenticator.TagSize];
            signer.Sign(frame, signedExtension ?? extension, tag);
            await stream.WriteAsync(tag);
        }
    }

    /// <summary>True when the remote end closes the connection within <paramref name="timeout"/> (what it sent first is skipped).</summary>
    public async Task<bool> WaitClosedAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        try
        {
            while (await stream.ReadAsync(buffer, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Reads one frame (and its tag) and decodes it.</summary>
    public async Task<Message> ReadMessageAsync(MessageCodec codec, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var header = new byte[WireLayout.HeaderSize];
        await stream.ReadExactlyAsync(header, cts.Token);
        Assert.True(codec.TryReadFrameLength(header, out var length, out var error), $"bad header: {error}");
        var frame = new byte[length];
        header.CopyTo(frame, 0);
        await stream.ReadExactlyAsync(frame.AsMemory(WireLayout.HeaderSize), cts.Token);
        if (session?.Verifier is { } verifier)
        {
            var tag = new byte[FrameAuthenticator.TagSize];
            await stream.ReadExactlyAsync(tag, cts.Token);
            Assert.True(verifier.Verify(frame, [], tag));
        }

        var decoded = codec.Decode(frame);
        Assert.True(decoded.IsSuccess, decoded.ErrorMessage);
        return decoded.Message!;
    }

    public async ValueTask DisposeAsync()
    {
        await stream.DisposeAsync();
        socket.Dispose();
    }

    /// <summary>A valid client request frame for <paramref name="cluster"/>.</summary>
    public static byte[] RequestFrame(UInt128 cluster, ClientId client, ulong number = 0, RequestKind kind = RequestKind.Register, byte[]? operation = null) =>
        new MessageCodec(cluster).Encode(new Request(client, number, kind, operation ?? [])
        {
            Header = new MessageHeader(cluster, 0, new View(0), ReplicaIndex.None),
        });

    /// <summary>Rewrites a frame's body size and reseals its header checksum, so only the size is wrong.</summary>
    public static byte[] WithBodySize(byte[] frame, uint bodySize)
    {
        var copy = (byte[])frame.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(WireLayout.BodySizeOffset), bodySize);
        BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(WireLayout.HeaderChecksumOffset), XxHash3.HashToUInt64(copy.AsSpan(0, WireLayout.HeaderChecksumOffset)));
        return copy;
    }
}
