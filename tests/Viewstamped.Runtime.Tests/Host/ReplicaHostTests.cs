using Viewstamped.Runtime.Host;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Host;

public class ReplicaHostTests
{
    [Fact]
    public async Task Three_replicas_serve_a_client_and_agree()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await using var client = cluster.CreateClient();
        for (var i = 1; i <= 20; i++)
        {
            var total = Adder.Decode(await client.InvokeAsync(Adder.Encode(1)));
            Assert.Equal(i, total);
        }

        var primary = cluster.Hosts[0]!.Status!;
        using var cts = new CancellationTokenSource(Bounded.Short);
        foreach (var host in cluster.Hosts)
        {
            await host!.WaitForStatusAsync(s => s.ExecutedOp >= primary.ExecutedOp, cts.Token);
        }

        Assert.All(cluster.Services, s => Assert.Equal(20, s.Total));
        Assert.True(cluster.Logs.Contains("runs UNAUTHENTICATED"), "a replica without a key warns at start");
    }

    [Fact]
    public async Task Options_are_validated_at_start()
    {
        var options = new ReplicaHostOptions { Cluster = 1, Replica = 3 };
        options.Replicas.AddRange(["127.0.0.1:1", "127.0.0.1:2"]);
        await using var host = new ReplicaHost(options, new Adder(), new MemoryStorage());
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());
        Assert.Contains("Replica must be an index into Replicas", error.Message, StringComparison.Ordinal);
    }
}

public class ReplicaHostRecoveryTests
{
    private static readonly TimeSpan wait = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_restarted_backup_catches_up(bool lostItsState)
    {
        await using var cluster = await InProcessCluster.StartAsync(3, null, o => o.ReconnectDelayMax = TimeSpan.FromMilliseconds(200));
        await using var client = cluster.CreateClient();
        for (var i = 0; i < 10; i++)
        {
            await client.InvokeAsync(Adder.Encode(1));
        }

        await cluster.StopReplicaAsync(2);
        for (var i = 0; i < 10; i++)
        {
            await client.InvokeAsync(Adder.Encode(1));
        }

        if (lostItsState)
        {
            cluster.Configure = o =>
            {
                o.ReconnectDelayMax = TimeSpan.FromMilliseconds(200);
                o.Rejoin = true;
            };
        }

        await cluster.StartReplicaAsync(2, freshStorage: lostItsState);
        Assert.Equal(21, Adder.Decode(await client.InvokeAsync(Adder.Encode(1))));
        var primary = cluster.Hosts[0]!.Status!;
        using var cts = new CancellationTokenSource(wait);
        var caughtUp = await cluster.Hosts[2]!.WaitForStatusAsync(s => s.Status == ReplicaStatus.Normal && s.ExecutedOp >= primary.CommitNumber, cts.Token);
        Assert.True(caughtUp.ExecutedOp >= primary.CommitNumber);
        Assert.Equal(21, cluster.Services[2].Total);
    }
}
