using Viewstamped.Samples;
using Viewstamped.Simulation;

namespace Viewstamped.Tests.Scenarios;

public class NormalOperationTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Ten_clients_commit_a_thousand_requests(int replicas)
    {
        var cluster = new Cluster(new ClusterOptions { ReplicaCount = replicas, Seed = 7 });
        var workload = new AdderWorkload(cluster, requestsPerClient: 100);
        workload.AddClients(10);

        Assert.True(workload.Run(ticksMax: 20_000), $"only {workload.Completed} of 1000 completed");

        workload.AssertRepliesMatchLog();
        cluster.RunTicks(50);
        var totals = Enumerable.Range(0, replicas).Select(i => ((Adder)cluster.Service(i)).Total).Distinct().ToList();
        Assert.Single(totals);
        Assert.All(cluster.Running, r => Assert.Equal(cluster.Replica(0).CommitNumber, r.CommitNumber));
    }

    [Fact]
    public void A_single_replica_cluster_commits_on_its_own()
    {
        var cluster = new Cluster(new ClusterOptions { ReplicaCount = 1 });
        var workload = new AdderWorkload(cluster, requestsPerClient: 20);
        workload.AddClients(2);

        Assert.True(workload.Run(ticksMax: 2_000));
        workload.AssertRepliesMatchLog();
    }
}
