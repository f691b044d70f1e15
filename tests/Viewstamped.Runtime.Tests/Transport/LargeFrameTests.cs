using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Viewstamped.Codec;
using Viewstamped.Messages;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Runtime.Tests.Transport;

/// <summary>
/// Frames of several megabytes (a StartView or DoViewChange with a long log suffix, a state transfer)
/// are encoded into and decoded from pooled buffers, so a view change leaves no dead arrays on the
/// large object heap; a frame over the limit is refused with a message that says how large it is.
/// </summary>
public class LargeFrameTests
{
    private static readonly UInt128 cluster = 0x2a;
    private static readonly TimeSpan timeout = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(6)]
    public async Task Frames_of_several_megabytes_round_trip_through_pooled_buffers(int megabytes)
    {
        var encodePool = new CountingPool();
        var receivePool = new CountingPool();
        var codec = new MessageCodec(cluster, 16 << 20);
        await using var pair = await ConnectionPair.OpenAsync(codec, codec, ClusterKey.Generate(), receivePool);
        var messages = Enumerable.Range(0, 3).Select(i => StartViewOf(megabytes << 20, seed: i)).ToList();

        foreach (var message in messages)
        {
            var frame = OutboundFrame.Encode(codec, message, encodePool);
            Assert.True(frame.Length > megabytes << 20);
            Assert.True(pair.Sender.TrySend(frame));
            frame.Release();
        }

        foreach (var sent in messages)
        {
            var received = await pair.Received.Reader.ReadAsync().AsTask().WaitAsync(timeout);
            Assert.True(MessageEquality.Equal(sent, received), "the message arrives as it was sent");
        }

        // The sender releases each frame before it flushes it, so all three are back by now; the
        // receiver copies a frame that spans its receive buffers into a rented buffer and returns it
        // as soon as the frame is decoded.
        Assert.Equal((3, 3), (encodePool.Rented, encodePool.Returned));
        Assert.True(receivePool.Rented >= 3, $"each frame spans receive buffers and is copied into a rented one ({receivePool.Rented} rents)");
        Assert.Equal(receivePool.Rented, receivePool.Returned);
        Assert.False(pair.Sender.IsClosed || pair.Receiver.IsClosed, pair.Receiver.CloseReason ?? pair.Sender.CloseReason);
    }

    [Fact]
    public void A_message_over_the_limit_is_not_encoded_and_says_how_large_it_is()
    {
        var pool = new CountingPool();
        var codec = new MessageCodec(cluster, 1 << 20);
        var message = StartViewOf(2 << 20, seed: 1);

        var error = Assert.Throws<ArgumentException>(() => OutboundFrame.Encode(codec, message, pool));

        Assert.Contains("StartView encodes to", error.Message, StringComparison.Ordinal);
        Assert.Contains($"more than the limit of {1 << 20}", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, pool.Rented);
    }

    [Fact]
    public async Task A_frame_over_the_receivers_limit_closes_the_connection_with_its_size_and_the_limit()
    {
        var pool = new CountingPool();
        var receivePool = new CountingPool();
        var senderCodec = new MessageCodec(cluster, 16 << 20);
        var receiverCodec = new MessageCodec(cluster, 1 << 20);
        await using var pair = await ConnectionPair.OpenAsync(senderCodec, receiverCodec, key: null, receivePool);
        var frame = OutboundFrame.Encode(senderCodec, StartViewOf(2 << 20, seed: 1), pool);
        var length = frame.Length;

        Assert.True(pair.Sender.TrySend(frame));
        frame.Release();
        await pair.Receiver.Completion.WaitAsync(timeout);

        Assert.Equal($"frame header rejected: the frame announces {length} bytes, more than the limit of {1 << 20}", pair.Receiver.CloseReason);
        Assert.Equal(1, pair.Counters.Snapshot().RejectedFrames);
        Assert.Equal((1, 1), (pool.Rented, pool.Returned));
        Assert.Equal(0, receivePool.Rented);
        Assert.False(await pair.Received.Reader.WaitToReadAsync().AsTask().WaitAsync(timeout), "nothing was delivered");
    }

    [Fact]
    public void A_frame_goes_back_to_its_pool_once_and_only_after_its_last_reference()
    {
        var pool = new CountingPool();
        var frame = OutboundFrame.Encode(new MessageCodec(cluster), StartViewOf(200_000, seed: 2), pool);
        frame.Retain();
        frame.Release();
        Assert.Equal(0, pool.Returned);
        Assert.True(frame.Span.Length > 200_000);

        frame.Release();
        Assert.Equal(1, pool.Returned);
        Assert.Throws<ObjectDisposedException>(() => frame.Span.Length);
        Assert.Throws<InvalidOperationException>(frame.Release);
        Assert.Throws<InvalidOperationException>(() => frame.Retain());
        Assert.Equal(1, pool.Returned);
    }

    /// <summary>A StartView whose entries add up to about <paramref name="bytes"/>, in 64 KiB operations.</summary>
    private static StartView StartViewOf(int bytes, int seed)
    {
        const int operationSize = 64 * 1024;
        var random = new Random(seed);
        var entries = new LogEntry[(bytes + operationSize - 1) / operationSize];
        for (var i = 0; i < entries.Length; i++)
        {
            var operation = new byte[operationSize];
            random.NextBytes(operation);
            entries[i] = new LogEntry(new OpNumber((ulong)i + 1), new View(1), EntryKind.Operation, new ClientId(7), (ulong)i + 1, operation, []);
        }

        return new StartView(new OpNumber((ulong)entries.Length), new OpNumber(0), entries)
        {
            Header = new MessageHeader(cluster, 0, new View(1), new ReplicaIndex(1)),
        };
    }

    /// <summary>The shared pool, counting what goes out and comes back.</summary>
    private sealed class CountingPool : ArrayPool<byte>
    {
        private int rented;
        private int returned;

        public int Rented => Volatile.Read(ref rented);

        public int Returned => Volatile.Read(ref returned);

        public override byte[] Rent(int minimumLength)
        {
            Interlocked.Increment(ref rented);

            return Shared.Rent(minimumLength);
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Interlocked.Increment(ref returned);
            Shared.Return(array, clearArray);
        }
    }

    /// <summary>Two connected <see cref="FrameConnection"/>s on loopback: the sender dialled, the receiver accepted.</summary>
    private sealed class ConnectionPair : IAsyncDisposable
    {
        private ConnectionPair(FrameConnection sender, FrameConnection receiver, TransportCounters counters)
        {
            Sender = sender;
            Receiver = receiver;
            Counters = counters;
        }

        public FrameConnection Sender { get; }

        public FrameConnection Receiver { get; }

        public TransportCounters Counters { get; }

        public Channel<Message> Received { get; } = Channel.CreateUnbounded<Message>();

        public static async Task<ConnectionPair> OpenAsync(MessageCodec senderCodec, MessageCodec receiverCodec, ClusterKey? key, ArrayPool<byte> receiveBuffers)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            var dialing = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var cts = new CancellationTokenSource(timeout);
            var accepting = listener.AcceptAsync(cts.Token).AsTask();
            await dialing.ConnectAsync(listener.LocalEndPoint!, cts.Token);
            var accepted = await accepting;
            var dialStream = new NetworkStream(dialing, ownsSocket: false);
            var acceptStream = new NetworkStream(accepted, ownsSocket: false);
            var acceptor = new AcceptorSettings(cluster, new ReplicaIndex(1), 3, key);
            var accept = Handshake.AcceptAsync(acceptStream, acceptor, HandshakeStatus.Ok, null, cts.Token);
            var initiated = await Handshake.InitiateAsync(dialStream, cluster, PeerRole.Replica, new ReplicaIndex(0), new ReplicaIndex(1), key, traceContext: false, cts.Token);
            var acceptedResult = await accept;
            var counters = new TransportCounters(null);
            var sender = new FrameConnection(dialing, dialStream, initiated, senderCodec, 16, counters, NullLogger.Instance, receiveBuffers);
            var receiver = new FrameConnection(accepted, acceptStream, acceptedResult, receiverCodec, 16, counters, NullLogger.Instance, receiveBuffers);
            var pair = new ConnectionPair(sender, receiver, counters);
            sender.Start((_, _, _) => ValueTask.FromResult<string?>("the sender expects nothing"));
            receiver.Start(async (_, message, _) =>
            {
                await pair.Received.Writer.WriteAsync(message);
                return null;
            });
            _ = receiver.Completion.ContinueWith(_ => pair.Received.Writer.TryComplete(), TaskScheduler.Default);
            return pair;
        }

        public async ValueTask DisposeAsync()
        {
            Sender.Close("test over");
            Receiver.Close("test over");
            await Task.WhenAll(Sender.Completion, Receiver.Completion).WaitAsync(timeout);
        }
    }
}
