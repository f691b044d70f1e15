using Viewstamped.Messages;
using Viewstamped.Simulation.Workload;

namespace Viewstamped.Simulation.Tests.Vopr;

public class ClusterCheckerTests
{
    [Fact]
    public void Replicas_whose_services_diverge_at_the_same_op_are_caught()
    {
        var started = 0;
        var cluster = new Cluster(new ClusterOptions
        {
            Seed = 3,
            ServiceFactory = () => new SaltedService(salt: ++started == 3 ? 1UL : 0UL),
        });
        var client = cluster.AddClient();
        cluster.RunUntil(() => client.IsIdle, 100);

        var violation = Assert.Throws<SafetyViolationException>(() =>
        {
            for (var i = 1; i <= 20; i++)
            {
                cluster.Submit(client, new KvCommand(1, i, KvFunction.Put, 0, "v").Encode());
                cluster.RunUntil(() => client.IsIdle, 100);
            }
        });
        Assert.Contains("service state after op", violation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_violation_the_service_saw_is_reported_with_its_replica()
    {
        var cluster = new Cluster(new ClusterOptions { Seed = 4, ServiceFactory = () => new KeyValueService() });
        var client = cluster.AddClient();
        cluster.RunUntil(() => client.IsIdle, 100);
        var service = (KeyValueService)cluster.Service(1);
        service.Execute(new KvCommand(9, 1, KvFunction.Put, 0, "a").Encode(), []);
        service.Execute(new KvCommand(9, 1, KvFunction.Put, 0, "a").Encode(), []);

        var violation = Assert.Throws<SafetyViolationException>(() => cluster.RunTicks(5));
        Assert.StartsWith("r1 service: operation 1 of process 9 executed twice", violation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Views_may_not_go_back_across_a_restart()
    {
        var checker = new ClusterChecker(3);
        var cluster = new Cluster(new ClusterOptions { Seed = 5 });
        cluster.Crash(0);
        cluster.RunUntil(() => cluster.Primary is { View.Value: > 0 }, 2_000);
        var moved = cluster.Replica(1);
        checker.Observe(moved);

        var fresh = new Cluster(new ClusterOptions { Seed = 5 });
        checker.Restarting(1);
        var violation = Assert.Throws<SafetyViolationException>(() => checker.Observe(fresh.Replica(1)));
        Assert.Contains("view went back", violation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_checker_counts_views_and_committed_ops()
    {
        var result = Simulator.Run(new SimulationOptions { Seed = 21, Faults = FaultProfile.Crash, RequestsPerClient = 80 });

        Assert.True(result.Passed, result.Message);
        Assert.True(result.OpsCommitted >= result.RequestsCompleted);
    }

    [Fact]
    public void A_read_back_may_drop_only_an_unvouched_newest_batch_and_only_with_an_uncertain_tail()
    {
        var checker = new ClusterChecker(3);
        var synced = Log(4);
        var beforeNewestBatch = Log(2); // the newest batch appended ops 3 and 4
        checker.ReadBack(0, synced, synced, beforeNewestBatch);
        checker.ReadBack(0, synced, Log(2) with { TailUncertain = true }, beforeNewestBatch);
        checker.ReadBack(0, synced, Log(1) with { LogDamaged = true }, beforeNewestBatch);

        // Cut without saying so, cut past the newest batch, or cut when a durable summary vouched for it.
        Assert.Throws<SafetyViolationException>(() => checker.ReadBack(0, synced, Log(2), beforeNewestBatch));
        Assert.Throws<SafetyViolationException>(() => checker.ReadBack(0, synced, Log(1) with { TailUncertain = true }, beforeNewestBatch));
        var violation = Assert.Throws<SafetyViolationException>(() => checker.ReadBack(0, synced, Log(2) with { TailUncertain = true }, null));
        Assert.Contains("op 3 is missing", violation.Message, StringComparison.Ordinal);
    }

    /// <summary>A durable log of ops 1 to <paramref name="head"/>.</summary>
    private static DurableState Log(ulong head)
    {
        var entries = new List<LogEntry>();
        for (var op = 1UL; op <= head; op++)
        {
            entries.Add(new LogEntry(new OpNumber(op), new View(1), EntryKind.Operation, new ClientId(1), op, [(byte)op], []));
        }

        return new DurableState(new HardState(new View(1), new View(1), OpNumber.Zero), null, entries, new OpNumber(head));
    }

    private sealed class SaltedService(ulong salt) : ICheckpointingService, IAuditedService
    {
        private readonly KeyValueService inner = new();

        public ulong StateHash => inner.StateHash + salt;

        public string? Violation => inner.Violation;

        public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction) => inner.Execute(operation, prediction);

        public byte[] WriteCheckpoint() => inner.WriteCheckpoint();

        public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint) => inner.RestoreCheckpoint(checkpoint);
    }
}
