using Viewstamped.Messages;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Runtime.Tests.Transport;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Security;

public class AuthenticationTests
{
    private static readonly TimeSpan wait = TimeSpan.FromSeconds(10);

    [Fact]
    public void Key_files_are_private_and_round_trip()
    {
        var path = Path.Combine(Path.GetTempPath(), $"vsr-key-{Guid.NewGuid():N}");
        try
        {
            var key = ClusterKey.Generate();
            key.Save(path);
            Assert.Equal(key.Fingerprint, ClusterKey.Load(path).Fingerprint);
            Assert.False(ClusterKey.IsTooOpen(path, out var mode), $"mode {mode}");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            Assert.ThrowsAny<IOException>(() => ClusterKey.Generate().Save(path));
            Assert.NotEqual(key.Fingerprint, ClusterKey.Generate().Fingerprint);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("no-key", "offered no authentication")]
    [InlineData("wrong-key", "wrong key")]
    [InlineData("wrong-cluster", "belongs to cluster")]
    [InlineData("bad-replica-claim", "not a peer of replica")]
    public async Task A_connection_that_cannot_authenticate_is_refused_with_a_logged_reason(string kind, string reason)
    {
        var key = ClusterKey.Generate();
        await using var cluster = await InProcessCluster.StartAsync(1, key);
        await using var raw = await RawConnection.ConnectAsync(cluster.Endpoints[0]);
        var refused = await Assert.ThrowsAsync<HandshakeException>(() => kind switch
        {
            "no-key" => raw.HandshakeAsync(cluster.Cluster, null),
            "wrong-key" => raw.HandshakeAsync(cluster.Cluster, ClusterKey.Generate()),
            "wrong-cluster" => raw.HandshakeAsync(cluster.Cluster ^ 0xff, key),
            _ => raw.HandshakeAsync(cluster.Cluster, key, PeerRole.Replica, replica: 0),
        });
        Assert.NotEqual(HandshakeStatus.Ok, refused.Status);
        Assert.True(await raw.WaitClosedAsync(wait));
        Assert.Equal(1, cluster.Hosts[0]!.Statistics.RefusedConnections);
        Assert.True(cluster.Logs.Entries.Any(e => e.Message.Contains("Refused connection from 127.0.0.1:", StringComparison.Ordinal) && e.Message.Contains(reason, StringComparison.Ordinal)), cluster.Logs.Dump());
    }

    [Fact]
    public async Task A_client_with_the_wrong_key_never_sends_and_the_replica_keeps_serving()
    {
        var key = ClusterKey.Generate();
        await using var cluster = await InProcessCluster.StartAsync(1, key);
        await using (var intruder = cluster.CreateClient(ClusterKey.Generate(), o => o.RequestTimeout = TimeSpan.FromSeconds(1)))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => intruder.InvokeAsync(Adder.Encode(100)));
            Assert.True(intruder.Statistics.RefusedConnections >= 1);
        }

        await using var client = cluster.CreateClient();
        Assert.Equal(1, Adder.Decode(await client.InvokeAsync(Adder.Encode(1))));
        Assert.True(cluster.Logs.Contains("wrong key"), cluster.Logs.Dump());
    }

    [Fact]
    public async Task A_replica_started_with_the_wrong_key_is_refused_by_its_peers_and_learns_nothing()
    {
        var key = ClusterKey.Generate();
        await using var cluster = await InProcessCluster.StartAsync(3, key, o => o.ReconnectDelayMax = TimeSpan.FromMilliseconds(200));
        await cluster.StopReplicaAsync(2);
        await cluster.StartReplicaAsync(2, ClusterKey.Generate(), freshStorage: true);
        await using var client = cluster.CreateClient();
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(i, Adder.Decode(await client.InvokeAsync(Adder.Encode(1))));
        }

        using var cts = new CancellationTokenSource(wait);
        while (!cluster.Logs.Entries.Any(e => e.Message.Contains("wrong key", StringComparison.Ordinal) && e.Message.Contains("Refused connection from 127.0.0.1:", StringComparison.Ordinal)))
        {
            await Task.Delay(20, cts.Token);
        }

        var outsider = cluster.Hosts[2]!.Status!;
        Assert.Equal(OpNumber.Zero, outsider.Op);
        Assert.Equal(OpNumber.Zero, outsider.CommitNumber);
        Assert.Equal(0, cluster.Storages[2].EntryCount);
        Assert.Equal(0, cluster.Hosts[2]!.Statistics.FramesReceived);
    }

    [Fact]
    public async Task Connections_beyond_the_per_address_limit_are_refused()
    {
        await using var cluster = await InProcessCluster.StartAsync(1, null, o => o.MaxConnectionsPerAddress = 2);
        await using var first = await RawConnection.ConnectAsync(cluster.Endpoints[0]);
        await first.HandshakeAsync(cluster.Cluster, null);
        await using var second = await RawConnection.ConnectAsync(cluster.Endpoints[0]);
        await second.HandshakeAsync(cluster.Cluster, null);
        await using var third = await RawConnection.ConnectAsync(cluster.Endpoints[0]);
        var refused = await Assert.ThrowsAsync<HandshakeException>(() => third.HandshakeAsync(cluster.Cluster, null));
        Assert.Equal(HandshakeStatus.TooManyConnections, refused.Status);
        using var cts = new CancellationTokenSource(wait);

        // The replica answers the refused handshake before it logs the reason, so wait for the line.
        while (!cluster.Logs.Contains("too many connections from its address"))
        {
            await Task.Delay(20, cts.Token);
        }

        await second.DisposeAsync();
        while (true)
        {
            await using var retry = await RawConnection.ConnectAsync(cluster.Endpoints[0]);
            try
            {
                await retry.HandshakeAsync(cluster.Cluster, null);
                break;
            }
            catch (HandshakeException)
            {
                await Task.Delay(20, cts.Token);
            }
        }
    }

    [Fact]
    public async Task Requests_beyond_the_in_flight_limit_of_a_connection_are_answered_busy()
    {
        // With both backups stopped the primary cannot commit, so requests stay in flight.
        await using var cluster = await InProcessCluster.StartAsync(3, null, o => o.MaxInFlightPerConnection = 2);
        var primary = (await cluster.WaitForPrimaryAsync(wait)).Index.Value;
        foreach (var backup in Enumerable.Range(0, 3).Where(i => i != primary))
        {
            await cluster.StopReplicaAsync(backup);
        }

        await using var raw = await RawConnection.ConnectAsync(cluster.Endpoints[primary]);
        await raw.HandshakeAsync(cluster.Cluster, null);
        await raw.SendFrameAsync(RawConnection.RequestFrame(cluster.Cluster, new ClientId(1)));
        await raw.SendFrameAsync(RawConnection.RequestFrame(cluster.Cluster, new ClientId(2)));
        await raw.SendFrameAsync(RawConnection.RequestFrame(cluster.Cluster, new ClientId(3)));
        var reply = Assert.IsType<Reply>(await raw.ReadMessageAsync(new Codec.MessageCodec(cluster.Cluster), wait));
        Assert.Equal(new ClientId(3), reply.Client);
        Assert.Equal(ReplyStatus.Busy, reply.Status);
        Assert.Equal(1, cluster.Hosts[primary]!.Statistics.RejectedRequests);
    }
}
