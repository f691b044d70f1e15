using Viewstamped.Simulation;

namespace Viewstamped.Tests.Scenarios;

/// <summary>
/// A small sweep of random crashes, restarts, one-way cuts, loss, duplication and reordering with
/// the Adder workload; the simulator runs the large swarm sweeps. Seeds that once failed here are
/// in the range and stay as regressions (1075, 1806, 2132, 3758 were found by a longer run).
/// </summary>
public class QuickSweepTests
{
    [Theory]
    [MemberData(nameof(Seeds))]
    public void Random_faults_lose_nothing(ulong seed)
    {
        var prng = new Prng(seed);
        var replicas = prng.Chance(0.5) ? 3 : 5;
        var f = (replicas - 1) / 2;
        var cluster = new Cluster(new ClusterOptions
        {
            ReplicaCount = replicas,
            Seed = seed,
            Network = new NetworkOptions { DelayMin = 1, DelayMax = prng.Between(1, 8), Drop = prng.NextDouble() * 0.1, Duplicate = prng.NextDouble() * 0.05 },
            ConfigureReplica = o => o with { CheckpointInterval = (ulong)prng.Between(5, 50), LogSuffix = (ulong)prng.Between(1, 5) },
        });
        var workload = new AdderWorkload(cluster, requestsPerClient: 30);
        workload.AddClients(prng.Between(1, 6));
        var down = new List<int>();
        workload.Run(ticksMax: 6_000, everyTick: tick =>
        {
            if (prng.Chance(0.004) && down.Count < f)
            {
                var victim = prng.Between(0, replicas - 1);
                if (!down.Contains(victim)) { cluster.Crash(victim); down.Add(victim); }
            }
            else if (prng.Chance(0.004) && down.Count > 0)
            {
                var back = down[0]; down.RemoveAt(0); cluster.Restart(back);
            }
            else if (prng.Chance(0.003))
            {
                var a = NodeAddress.Of(new ReplicaIndex((byte)prng.Between(0, replicas - 1)));
                var b = NodeAddress.Of(new ReplicaIndex((byte)prng.Between(0, replicas - 1)));
                if (a != b) cluster.Network.Cut(a, b);
            }
            else if (prng.Chance(0.004))
            {
                cluster.Network.HealAll();
            }
        });
        foreach (var i in down) cluster.Restart(i);
        cluster.Network.HealAll();
        cluster.Network.Options = new NetworkOptions();
        Assert.True(workload.Run(ticksMax: 8_000), $"seed {seed}: liveness: {workload.Completed}/{workload.Submitted} " + string.Join(" | ", cluster.Running.Select(r => $"r{r.Index.Value} {r.Status} v{r.View.Value} lv{r.LogView.Value} op{r.Op.Value} c{r.CommitNumber.Value} e{r.ExecutedOp.Value} s{r.LogStart.Value}")));
        workload.AssertRepliesMatchLog();
    }

    public static TheoryData<ulong> Seeds()
    {
        var data = new TheoryData<ulong>();
        for (ulong s = 1; s <= 200; s++)
        {
            data.Add(s);
        }

        foreach (var regression in new ulong[] { 1075, 1806, 2132, 3758, 3822, 2836, 1467 })
        {
            data.Add(regression);
        }

        return data;
    }
}
