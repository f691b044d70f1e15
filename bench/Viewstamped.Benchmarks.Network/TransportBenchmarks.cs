using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Viewstamped.Codec;
using Viewstamped.Messages;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Benchmarks.Network;

/// <summary>How a benchmarked transport connection is secured.</summary>
internal enum LinkSecurity
{
    /// <summary>No key, no TLS.</summary>
    None,

    /// <summary>The cluster key's handshake and an HMAC-SHA256 tag per frame.</summary>
    Hmac,

    /// <summary>Mutual TLS (no key).</summary>
    Tls,
}

/// <summary>Messages per second over loopback: plain sockets next to the replica transport.</summary>
internal static class TransportBenchmarks
{
    private const int MessageSize = 64; // a PrepareOk frame is 64 bytes

    /// <summary>Plain .NET TCP ping-pong: one 64-byte message each way per round trip.</summary>
    public static async Task<double> PlainPingPongAsync(TimeSpan duration)
    {
        var (client, server) = await ConnectedPairAsync();
        using (client)
        using (server)
        {
            var echo = Task.Run(async () =>
            {
                var buffer = new byte[MessageSize];
                try
                {
                    while (true)
                    {
                        await ReceiveExactlyAsync(server, buffer);
                        await server.SendAsync(buffer);
                    }
                }
                catch (SocketException)
                {
                }
                catch (EndOfStreamException)
                {
                }
            });
            var message = new byte[MessageSize];
            var rounds = 0L;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                await client.SendAsync(message);
                await ReceiveExactlyAsync(client, message);
                rounds++;
            }

            var rate = rounds / clock.Elapsed.TotalSeconds;
            client.Shutdown(SocketShutdown.Both);
            await echo;
            return rate;
        }
    }

    /// <summary>Plain .NET TCP streaming: 64-byte messages one way through a buffered stream.</summary>
    public static async Task<double> PlainStreamingAsync(TimeSpan duration)
    {
        var (client, server) = await ConnectedPairAsync();
        using (client)
        using (server)
        {
            var received = 0L;
            var reader = Task.Run(async () =>
            {
                await using var stream = new NetworkStream(server);
                var buffer = new byte[64 * 1024];
                long bytes = 0;
                int read;
                while ((read = await stream.ReadAsync(buffer)) > 0)
                {
                    bytes += read;
                    Interlocked.Exchange(ref received, bytes / MessageSize);
                }
            });
            await using var output = new BufferedStream(new NetworkStream(client), 64 * 1024);
            var message = new byte[MessageSize];
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < duration)
            {
                for (var i = 0; i < 1000; i++)
                {
                    await output.WriteAsync(message);
                }
            }

            await output.FlushAsync();
            var rate = Interlocked.Read(ref received) / clock.Elapsed.TotalSeconds;
            client.Shutdown(SocketShutdown.Both);
            await reader;
            return rate;
        }
    }

    /// <summary>The replica transport (handshake, framing, checks, per-frame HMAC or TLS when asked) in ping-pong.</summary>
    public static async Task<double> TransportPingPongAsync(TimeSpan duration, LinkSecurity security)
    {
        var pong = new SemaphoreSlim(0);
        await using var pair = await TransportPair.CreateAsync(security, (connection, frame) => connection.TrySend(frame), _ => pong.Release());
        var rounds = 0L;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            pair.Initiator.TrySend(pair.Frame);
            await pong.WaitAsync();
            rounds++;
        }

        return rounds / clock.Elapsed.TotalSeconds;
    }

    /// <summary>The replica transport streaming 64-byte frames one way, with a window so no queue overflows.</summary>
    public static async Task<double> TransportStreamingAsync(TimeSpan duration, LinkSecurity security)
    {
        const int window = 4000;
        var credit = new SemaphoreSlim(window);
        var received = 0L;
        await using var pair = await TransportPair.CreateAsync(
            security,
            (_, _) =>
            {
                Interlocked.Increment(ref received);
                credit.Release();
            },
            _ => { });
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (var i = 0; i < 500; i++)
            {
                await credit.WaitAsync();
                pair.Initiator.TrySend(pair.Frame);
            }
        }

        return Interlocked.Read(ref received) / clock.Elapsed.TotalSeconds;
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await accept;
        server.NoDelay = true;
        return (client, server);
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer)
    {
        var offset = 0;
        while (offset < buffer.Length)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(offset));
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            offset += read;
        }
    }

    /// <summary>A certificate that is its own authority: enough for both ends of one TLS connection.</summary>
    private static TlsCredentials SelfSignedCredentials()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=viewstamped-bench", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return new TlsCredentials(certificate, [X509CertificateLoader.LoadCertificate(certificate.RawData)]);
    }

    /// <summary>Two replicas' ends of one transport connection on loopback, plain, with HMAC tags, or inside TLS.</summary>
    private sealed class TransportPair : IAsyncDisposable
    {
        private TransportPair(FrameConnection initiator, FrameConnection acceptor, byte[] frame)
        {
            Initiator = initiator;
            Acceptor = acceptor;
            Frame = frame;
        }

        public FrameConnection Initiator { get; }

        public FrameConnection Acceptor { get; }

        public byte[] Frame { get; }

        public static async Task<TransportPair> CreateAsync(LinkSecurity security, Action<FrameConnection, byte[]> atAcceptor, Action<Message> atInitiator)
        {
            const ulong cluster = 77;
            var key = security == LinkSecurity.Hmac ? ClusterKey.Generate() : null;
            var codec = new MessageCodec(cluster);
            var frame = codec.Encode(new PrepareOk(new OpNumber(1)) { Header = new MessageHeader(cluster, 0, new View(0), new ReplicaIndex(1)) });
            var echo = codec.Encode(new PrepareOk(new OpNumber(1)) { Header = new MessageHeader(cluster, 0, new View(0), new ReplicaIndex(0)) });
            var counters = new TransportCounters(null);
            var (client, server) = await ConnectedPairAsync();
            Stream clientStream = new NetworkStream(client, ownsSocket: false);
            Stream serverStream = new NetworkStream(server, ownsSocket: false);
            if (security == LinkSecurity.Tls)
            {
                var tls = SelfSignedCredentials(); // kept alive with the connection it secures
                var serverTls = tls.AcceptAsync(serverStream, CancellationToken.None);
                clientStream = await tls.ConnectAsync(clientStream, Dialer.TlsTargetHost, CancellationToken.None);
                serverStream = await serverTls;
            }

            var accepting = Handshake.AcceptAsync(serverStream, new AcceptorSettings(cluster, new ReplicaIndex(0), 2, key), HandshakeStatus.Ok, null, CancellationToken.None);
            var initiated = await Handshake.InitiateAsync(clientStream, cluster, PeerRole.Replica, new ReplicaIndex(1), new ReplicaIndex(0), key, traceContext: false, CancellationToken.None);
            var accepted = await accepting;
            var initiator = new FrameConnection(client, clientStream, initiated, codec, 8192, counters, NullLogger.Instance);
            var acceptor = new FrameConnection(server, serverStream, accepted, codec, 8192, counters, NullLogger.Instance);
            acceptor.Start((connection, _, _) =>
            {
                atAcceptor(connection, echo);
                return ValueTask.FromResult<string?>(null);
            });
            initiator.Start((_, message, _) =>
            {
                atInitiator(message);
                return ValueTask.FromResult<string?>(null);
            });
            return new TransportPair(initiator, acceptor, frame);
        }

        public async ValueTask DisposeAsync()
        {
            Initiator.Close("done");
            Acceptor.Close("done");
            await Task.WhenAll(Initiator.Completion, Acceptor.Completion);
        }
    }
}
