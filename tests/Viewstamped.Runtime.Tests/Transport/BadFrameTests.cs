using Viewstamped.Messages;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Transport;

/// <summary>
/// A replica facing a hostile or broken peer: every bad input closes only its own connection, is
/// counted and logged with the remote address, changes nothing in the replica's state, and the
/// replica keeps serving.
/// </summary>
public class BadFrameTests
{
    private static readonly TimeSpan closeTimeout = TimeSpan.FromSeconds(5);

    public static TheoryData<string> BadInputs => new()
    {
        "garbage", "truncated", "oversized", "wrong-cluster", "bad-tag", "frame-before-handshake", "client-sends-prepare",
        "bad-trace-context-length", "tampered-trace-context",
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task A_bad_frame_closes_its_connection_and_changes_nothing(string kind)
    {
        var key = ClusterKey.Generate();
        await using var cluster = await InProcessCluster.StartAsync(1, key);
        await using var client = cluster.CreateClient();
        Assert.Equal(5, Adder.Decode(await client.InvokeAsync(Adder.Encode(5))));
        var host = cluster.Hosts[0]!;
        var before = host.Status!;
        var storedBefore = (cluster.Storages[0].HardState, cluster.Storages[0].EntryCount);
        var rejectedBefore = host.Statistics.RejectedFrames + host.Statistics.RefusedConnections;

        await using (var raw = await RawConnection.ConnectAsync(cluster.Endpoints[0]))
        {
            var valid = RawConnection.RequestFrame(cluster.Cluster, new ClientId(42));
            switch (kind)
            {
                case "garbage":
                    await raw.HandshakeAsync(cluster.Cluster, key);
                    await raw.SendFrameAsync(Enumerable.Range(0, 200).Select(i => (byte)(i * 7)).ToArray());
                    break;
                case "truncated":
                    await raw.HandshakeAsync(cluster.Cluster, key);
                    await raw.SendRawAsync(valid[..(valid.Length - 3)]);
                    await raw.DisposeAsync();
                    break;
                case "oversized":
                    await raw.HandshakeAsync(cluster.Cluster, key);
                    await raw.SendRawAsync(RawConnection.WithBodySize(valid, 1_000_000_000)[..Codec.WireLayout.HeaderSize]);
                    break;
                case "wrong-cluster":
                    await raw.HandshakeAsync(cluster.Cluster, key);
                    await raw.SendFrameAsync(RawConnection.RequestFrame(cluster.Cluster + 1, new ClientId(42)));
                    break;
                case "bad-tag":
                    await raw.HandshakeAsync(cluster.Cluster, key);
                    await raw.SendRawAsync([.. valid, .. new byte[32]]);
                    break;
                case "frame-before-handshake":
                    await raw.SendRawAsync([.. valid, .. valid]);
                    break;
                case "bad-trace-context-length":
                    await raw.HandshakeAsync(cluster.Cluster, key, traceContext: true);
                    await raw.SendFrameAsync(valid, extension: [7, 1, 2, 3, 4, 5, 6, 7]);
                    break;
                case "tampered-trace-context":
                    // A trace context changed on the way: the frame's tag covers it.
                    await raw.HandshakeAsync(cluster.Cluster, key, traceContext: true);
                    await raw.SendFrameAsync(valid, extension: TraceContext(0x11), signedExtension: TraceContext(0x22));
                    break;
                case "client-sends-prepare":
                    await raw.HandshakeAsync(cluster.Cluster, key);
                    await raw.SendFrameAsync(new Codec.MessageCodec(cluster.Cluster).Encode(
                        new Prepare(new OpNumber(9), []) { Header = new MessageHeader(cluster.Cluster, 0, new View(5), ReplicaIndex.None) }));
                    break;
            }

            if (kind != "truncated")
            {
                Assert.True(await raw.WaitClosedAsync(closeTimeout), "the replica closes the connection");
            }
        }

        // The connection's statistics count the rejection before its log line is written: wait for both.
        bool Logged() => cluster.Logs.Entries.Any(e => e.Message.Contains("127.0.0.1:", StringComparison.Ordinal)
            && (e.Message.Contains("Closed connection from", StringComparison.Ordinal) || e.Message.Contains("Refused connection from", StringComparison.Ordinal)));
        using var cts = new CancellationTokenSource(closeTimeout);
        while (host.Statistics.RejectedFrames + host.Statistics.RefusedConnections == rejectedBefore || !Logged())
        {
            await Task.Delay(10, cts.Token);
        }

        Assert.Equal(before with { IgnoredMessages = host.Status!.IgnoredMessages }, host.Status);
        Assert.Equal(storedBefore, (cluster.Storages[0].HardState, cluster.Storages[0].EntryCount));
        Assert.True(Logged(), cluster.Logs.Dump());
        Assert.Equal(12, Adder.Decode(await client.InvokeAsync(Adder.Encode(7))));
    }

    private static byte[] TraceContext(byte fill) => [Viewstamped.Runtime.Transport.TraceContextExtension.ContextSize, .. Enumerable.Repeat(fill, 24), 1];
}
