using Viewstamped.Messages;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Tests.Vopr;

/// <summary>
/// The whole cluster loses power at once, mid-load, on simulated disks that lose and tear every write
/// not yet synced: no acknowledged operation may be lost.
/// </summary>
public class PowerLossTests
{
    private static readonly DiskFaults HarshDisk = new()
    {
        LostWriteProbability = 0.5,
        TornWriteProbability = 0.5,
        ReadFlipProbability = 0.01,
        MisdirectedSuperblockWriteProbability = 0.1,
        SyncLatencyTicksMax = 4,
    };

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Nothing_acknowledged_is_lost_when_every_replica_loses_power_at_once(int replicas)
    {
        long lostOrTorn = 0;
        for (var seed = 1UL; seed <= 4; seed++)
        {
            var run = new SimulationRun(new SimulationOptions
            {
                Seed = seed,
                Replicas = replicas,
                Clients = 8,
                RequestsPerClient = 40,
                CheckpointInterval = 0,
                FaultMix = new FaultMix { Disk = HarshDisk },
            });

            // Two power losses, each once the clients have seen a good share of their requests acknowledged.
            var acknowledged = new Dictionary<OpNumber, LogEntry>();
            foreach (var share in new[] { 3, 6 })
            {
                var target = share * 8 * 40 / 10;
                for (var tick = 0; tick < 50_000 && run.Workload.Completed < target; tick++)
                {
                    Assert.True(run.Step(), run.Result?.Message);
                }

                Assert.True(run.Workload.Completed >= target, $"seed {seed}: {run.Workload.Completed} requests completed");
                var primary = run.Cluster.Primary!;
                for (var op = new OpNumber(1); op <= primary.CommitNumber; op = op.Next)
                {
                    acknowledged[op] = primary.EntryAt(op)!;
                }

                run.LosePower(downTicksMax: 30);
                Assert.Equal(replicas, run.Cluster.Unavailable);
            }

            var result = run.Run();
            Assert.True(result.Passed, $"seed {seed}: {result.Failure}: {result.Message}");
            Assert.Equal(Verdict.Linearizable, result.Linearizability);
            Assert.Equal(2, result.PowerLosses);
            for (var i = 0; i < replicas; i++)
            {
                var replica = run.Cluster.Replica(i);
                foreach (var (op, entry) in acknowledged)
                {
                    Assert.Equal(entry, replica.EntryAt(op));
                }

                lostOrTorn += run.Cluster.Disk(i)!.Statistics.LostWrites + run.Cluster.Disk(i)!.Statistics.TornWrites;
            }
        }

        Assert.True(lostOrTorn > 0, "the power losses hit writes that were not synced yet");
    }

    [Fact]
    public void Disks_get_streams_of_their_own_so_disk_faults_change_no_other_choice()
    {
        var drawn = new FaultMix { DelayMax = 3, Drop = 0.01, ReplicaCrashRate = 0.005, ReplicaDownTicksMax = 200, ClientCrashRate = 0.002, ClientDownTicksMax = 50 };
        var options = new SimulationOptions { Seed = 11, FaultMix = drawn, RequestsPerClient = 60, CheckpointInterval = 16, LogSuffix = 4, ThinkTicksMax = 2 };
        var memory = Simulator.Run(options);
        var withDisks = Simulator.Run(options with { FaultMix = drawn with { Disk = DiskFaults.None } });

        // The same replicas, clients and fault choices: a disk without faults or latency behaves like memory.
        Assert.True(memory.Crashes > 0, "the run crashes replicas");
        Assert.True(withDisks.Passed, withDisks.Message);
        Assert.Equal(memory.OpsCommitted, withDisks.OpsCommitted);
        Assert.Equal(memory.MessagesSent, withDisks.MessagesSent);
        Assert.Equal(memory.Ticks, withDisks.Ticks);
    }
}
