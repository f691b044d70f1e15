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
