using Viewstamped.Messages;
using Viewstamped.Simulation;
using static Viewstamped.KeyValue.Tests.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>
/// The service in the deterministic cluster, each replica with its own skewed clock: replicas agree
/// byte for byte, keys expire identically everywhere, and time does not go back when a primary
/// with a slow clock takes over.
/// </summary>
public sealed class ClusterTests
{
    private const long Epoch = 1_700_000_000_000;
    private const long MillisecondsPerTick = 10;

    [Fact]
    public void Expiry_is_identical_on_every_replica_across_a_view_change_to_a_slow_clock()
    {
        // Replica 1, primary after replica 0 fails, runs 5 s behind; replica 2 runs 3 s ahead.
        var harness = new SkewedCluster([0, -5_000, 3_000], options => options with { CheckpointInterval = 4, LogSuffix = 2 });
        var cluster = harness.Cluster;
        var client = harness.Client();

        Assert.Equal(Ok, harness.Call(client, "SET", "a", "1", "PX", "500"));
        Assert.Equal(Ok, harness.Call(client, "SET", "b", "2", "PX", "60000"));
        Assert.Equal(Ok, harness.Call(client, "SET", "c", "3"));
        Assert.Equal(Ok, harness.Call(client, "SET", "d", "4", "PX", "3000"));
        cluster.RunTicks(60);
        Assert.Equal(Nil, harness.Call(client, "GET", "a"));
        var timeBeforeFailure = harness.Service(0).Now;

        cluster.Crash(0);
        Assert.True(cluster.RunUntil(() => cluster.Primary is { } p && p.Index.Value == 1, 2_000));

        // The new primary's clock says a is still alive: the service's time does not go back.
        Assert.Equal(Nil, harness.Call(client, "GET", "a"));
        Assert.Equal(Int(3), harness.Call(client, "DBSIZE"));
        Assert.Equal(Ok, harness.Call(client, "SET", "e", "5", "PX", "1000"));
        Assert.Equal(Int(1000), harness.Call(client, "PTTL", "e"));
        Assert.Equal(timeBeforeFailure, harness.Service(1).Now);

        // Once the slow clock passes e's and d's expiry, they are gone everywhere.
        cluster.RunTicks(700);
        Assert.Equal(Nil, harness.Call(client, "GET", "e"));
        Assert.Equal(Int(2), harness.Call(client, "DBSIZE"));
        Assert.Equal("*4\r\n$-1\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n", harness.Call(client, "MGET", "a", "b", "c", "d"));

        harness.Restart(0);
        harness.AssertConverged();
        Assert.Contains("\u0001b", Of(harness.Service(0).WriteCheckpoint()));
        Assert.DoesNotContain("\u0001d", Of(harness.Service(0).WriteCheckpoint()));
    }

    [Fact]
    public void Random_operations_with_failures_give_the_replies_the_log_determines()
    {
        // Every client's reply equals what a fresh service gives when it replays the committed log
        // with the logged predictions; every replica ends with the same checkpoint.
        var harness = new SkewedCluster([0, -2_000, 1_500], options => options with { CheckpointInterval = 0 }, seed: 7);
        var cluster = harness.Cluster;
        var random = new Random(99);
        var clients = Enumerable.Range(0, 3).Select(_ => harness.Client()).ToList();
        for (var tick = 0; tick < 3_000; tick++)
        {
            foreach (var client in clients.Where(c => c.IsIdle))
            {
                cluster.Submit(client, KeyValueOperation.Encode(CheckpointTests.RandomCommand(random)));
            }

            if (tick is 800 or 1_800 && cluster.Primary is { } primary)
            {
                var index = primary.Index.Value;
                cluster.Crash(index);
                cluster.RunTicks(150);
                harness.Restart(index);
            }

            cluster.Tick();
        }

        Assert.True(cluster.RunUntil(() => clients.All(c => c.IsIdle), 2_000));
        harness.AssertConverged();

        var leader = cluster.Primary!;
        Assert.True(leader.View.Value >= 2, $"view {leader.View.Value}: the primary failures did not happen");
        var replay = new KeyValueService(() => throw new InvalidOperationException("a replay never predicts"));
        var lastRequest = new Dictionary<ClientId, ulong>();
        var results = new Dictionary<ulong, byte[]>();
        for (var op = 1UL; op <= leader.CommitNumber.Value; op++)
        {
            var entry = leader.EntryAt(new OpNumber(op))!;
            if (entry.Kind != EntryKind.Operation || (lastRequest.TryGetValue(entry.Client, out var last) && entry.RequestNumber <= last))
            {
                continue;
            }

            lastRequest[entry.Client] = entry.RequestNumber;
            results[op] = replay.Execute(entry.Operation, entry.Prediction);
        }

        var completed = clients.SelectMany(c => c.Completed).ToList();
        Assert.True(completed.Count > 300, $"only {completed.Count} requests completed");
        foreach (var request in completed)
        {
            Assert.Equal(ReplyStatus.Ok, request.Status);
            Assert.Equal(Of(results[request.Op.Value]), Of(request.Result));
        }

        Assert.Equal(replay.WriteCheckpoint(), harness.Service(leader.Index.Value).WriteCheckpoint());
        Assert.Contains(completed, r => Of(r.Result) == Nil);
        Assert.Contains(completed, r => Of(r.Result)[0] == ':');
    }

    /// <summary>A cluster whose replica i reads the clock Epoch + tick * 10 ms + skew[i].</summary>
    private sealed class SkewedCluster
    {
        private readonly long[] skews;
        private int created;
        private int restarting = -1;

        public SkewedCluster(long[] skews, Func<ReplicaOptions, ReplicaOptions> configure, ulong seed = 1)
        {
            this.skews = skews;
            Cluster = new Cluster(new ClusterOptions
            {
                ReplicaCount = skews.Length,
                Seed = seed,
                ServiceFactory = NewService,
                ConfigureReplica = configure,
            });
        }

        public Cluster Cluster { get; }

        public KeyValueService Service(int index) => (KeyValueService)Cluster.Service(index);

        public SimulatedClient Client()
        {
            var client = Cluster.AddClient();
            Assert.True(Cluster.RunUntil(() => client.IsIdle, 1_000));
            return client;
        }

        public string Call(SimulatedClient client, params string[] arguments)
        {
            var before = client.Completed.Count;
            Cluster.Submit(client, KeyValueOperation.Encode(arguments));
            Assert.True(Cluster.RunUntil(() => client.Completed.Count > before, 2_000), $"no reply to {string.Join(' ', arguments)}");
            var completed = client.Completed[^1];
            Assert.Equal(ReplyStatus.Ok, completed.Status);
            return Of(completed.Result);
        }

        public void Restart(int index)
        {
            restarting = index;
            Cluster.Restart(index);
            restarting = -1;
        }

        /// <summary>Waits until every replica executed everything committed, then compares their states.</summary>
        public void AssertConverged()
        {
            Assert.True(
                Cluster.RunUntil(
                    () => Cluster.Running.Count() == skews.Length
                        && Cluster.Primary is { } primary
                        && Cluster.Running.All(r => r.Status == ReplicaStatus.Normal && r.ExecutedOp == primary.CommitNumber && r.Op == primary.Op),
                    3_000),
                "the replicas did not converge");
            var expected = Service(0).WriteCheckpoint();
            for (var i = 1; i < skews.Length; i++)
            {
                Assert.Equal(expected, Service(i).WriteCheckpoint());
                Assert.Equal(Service(0).Now, Service(i).Now);
            }
        }

        private KeyValueService NewService()
        {
            var index = created < skews.Length ? created++ : restarting;
            Assert.True(index >= 0, "a service was created outside a start or restart");
            return new KeyValueService(() => Epoch + ((long)Cluster.Now * MillisecondsPerTick) + skews[index]);
        }
    }
}
