using Viewstamped.Messages;
using Viewstamped.Samples;
using Viewstamped.Simulation;

namespace Viewstamped.Tests.Scenarios;

public class FailureScenarioTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Primary_crash_mid_load_keeps_every_acknowledged_request(int replicas)
    {
        var cluster = new Cluster(new ClusterOptions { ReplicaCount = replicas, Seed = 11 });
        var workload = new AdderWorkload(cluster, requestsPerClient: 40);
        workload.AddClients(10);

        var crashed = false;
        var done = workload.Run(ticksMax: 20_000, everyTick: _ =>
        {
            if (!crashed && workload.Completed >= 150)
            {
                cluster.Crash(0);
                crashed = true;
            }
        });

        Assert.True(crashed);
        Assert.True(done, $"only {workload.Completed} completed after the primary crashed");
        Assert.True(cluster.Primary!.View > new View(0));
        workload.AssertRepliesMatchLog();
        Assert.All(cluster.Running, r => Assert.True(r.ExecutedOp.Value >= (ulong)workload.Completed));
    }

    [Fact]
    public void Backup_crashes_restarts_and_recovers()
    {
        var cluster = new Cluster(new ClusterOptions { ReplicaCount = 3, Seed = 12 });
        var workload = new AdderWorkload(cluster, requestsPerClient: 30);
        workload.AddClients(5);
        workload.Run(ticksMax: 100, everyTick: _ => { });
        cluster.Crash(2);
        workload.Run(ticksMax: 300);
        cluster.Restart(2);
        Assert.Equal(ReplicaStatus.Recovering, cluster.Replica(2).Status);

        Assert.True(workload.Run(ticksMax: 10_000));
        Assert.True(cluster.RunUntil(() => cluster.Replica(2).ExecutedOp == cluster.Replica(0).ExecutedOp, 2_000));
        Assert.Equal(ReplicaStatus.Normal, cluster.Replica(2).Status);
        Assert.Equal(((Adder)cluster.Service(0)).Total, ((Adder)cluster.Service(2)).Total);
        workload.AssertRepliesMatchLog();
    }

    [Fact]
    public void Backup_partitioned_past_a_compaction_catches_up_by_checkpoint_transfer()
    {
        var cluster = new Cluster(new ClusterOptions
        {
            ReplicaCount = 3,
            Seed = 13,
            ConfigureReplica = o => o with { CheckpointInterval = 20, LogSuffix = 5, CheckpointChunkSize = 1024 },
        });
        var isolated = NodeAddress.Of(new ReplicaIndex(2));
        Isolate(cluster, isolated);
        var workload = new AdderWorkload(cluster, requestsPerClient: 30);
        workload.AddClients(4);
        Assert.True(workload.Run(ticksMax: 10_000));
        Assert.True(cluster.Replica(0).LogStart.Value > 1, "the primary compacted its log");
        Assert.True(cluster.Replica(2).Op < cluster.Replica(0).LogStart);

        cluster.Network.HealAll();

        Assert.True(cluster.RunUntil(() => cluster.Replica(2).ExecutedOp == cluster.Replica(0).ExecutedOp, 3_000));
        Assert.True(cluster.Replica(2).CheckpointOp.Value >= 20, "caught up through a transferred checkpoint");
        Assert.Equal(((Adder)cluster.Service(0)).Total, ((Adder)cluster.Service(2)).Total);
    }

    [Fact]
    public void Two_successive_view_changes_with_lost_messages_lose_nothing()
    {
        var cluster = new Cluster(new ClusterOptions { ReplicaCount = 5, Seed = 14 });
        var workload = new AdderWorkload(cluster, requestsPerClient: 40);
        workload.AddClients(6);
        var dropping = false;
        cluster.Network.Filter = packet => !dropping || packet.Message is not (DoViewChange or StartView) || packet.Sequence % 3 != 0;

        var crashes = 0;
        var done = workload.Run(ticksMax: 30_000, everyTick: _ =>
        {
            if (crashes == 0 && workload.Completed >= 60)
            {
                dropping = true;
                cluster.Crash(0);
                crashes++;
            }
            else if (crashes == 1 && cluster.Primary is { } primary && primary.View.Value >= 1 && workload.Completed >= 120)
            {
                cluster.Crash(primary.Index.Value);
                crashes++;
            }
        });

        Assert.Equal(2, crashes);
        Assert.True(done, $"only {workload.Completed} completed");
        Assert.True(cluster.Primary!.View.Value >= 2);
        workload.AssertRepliesMatchLog();
    }

    internal static void Isolate(Cluster cluster, NodeAddress replica)
    {
        for (var i = 0; i < cluster.ReplicaCount; i++)
        {
            var other = NodeAddress.Of(new ReplicaIndex((byte)i));
            if (other != replica)
            {
                cluster.Network.CutBoth(replica, other);
            }
        }
    }
}
