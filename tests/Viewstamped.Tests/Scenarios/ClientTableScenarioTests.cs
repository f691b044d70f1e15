using System.Buffers.Binary;
using Viewstamped.Messages;
using Viewstamped.Samples;
using Viewstamped.Simulation;

namespace Viewstamped.Tests.Scenarios;

public class ClientTableScenarioTests
{
    private static readonly UInt128 ClusterId = 0xC1u;

    [Fact]
    public void A_duplicate_request_executes_once_and_gets_the_cached_reply()
    {
        var cluster = new Cluster(new ClusterOptions { ReplicaCount = 3, Seed = 21 });
        var client = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => client.IsIdle, 200));
        cluster.Submit(client, Adder.Encode(5));
        Assert.True(cluster.RunUntil(() => client.IsIdle, 200));
        var original = client.Completed.Single();

        var spy = new ReplySpy(cluster, client.Session.Id);
        var duplicate = new Request(client.Session.Id, original.RequestNumber, RequestKind.Operation, Adder.Encode(5))
        {
            Header = new MessageHeader(ClusterId, 0, cluster.Primary!.View, ReplicaIndex.None),
        };
        cluster.SendFromClient(client.Session.Id, cluster.Primary.Index.Value, duplicate);
        cluster.SendFromClient(client.Session.Id, cluster.Primary.Index.Value, duplicate);
        cluster.RunTicks(20);

        Assert.Equal(5, ((Adder)cluster.Service(0)).Total);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(5, ((Adder)cluster.Service(i)).Total));
        Assert.Equal(2, spy.Replies.Count);
        Assert.All(spy.Replies, r =>
        {
            Assert.Equal(ReplyStatus.Ok, r.Status);
            Assert.Equal(original.Op, r.Op);
            Assert.Equal(5, Adder.Decode(r.Result));
        });
    }

    [Fact]
    public void An_old_request_number_is_refused_as_stale_and_a_concurrent_one_as_concurrent()
    {
        var cluster = new Cluster(new ClusterOptions { ReplicaCount = 3, Seed = 22 });
        var client = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => client.IsIdle, 200));
        cluster.Submit(client, Adder.Encode(1));
        Assert.True(cluster.RunUntil(() => client.IsIdle, 200));
        cluster.Submit(client, Adder.Encode(1));
        Assert.True(cluster.RunUntil(() => client.IsIdle, 200));

        var spy = new ReplySpy(cluster, client.Session.Id);
        var primary = cluster.Primary!;
        var header = new MessageHeader(ClusterId, 0, primary.View, ReplicaIndex.None);
        cluster.SendFromClient(client.Session.Id, primary.Index.Value, new Request(client.Session.Id, 1, RequestKind.Operation, Adder.Encode(9)) { Header = header });
        cluster.RunTicks(5);
        Assert.Equal(ReplyStatus.Stale, spy.Replies.Single().Status);

        // Two new requests at once: the second is refused while the first is in the pipeline.
        cluster.Network.Filter = p => p.Message is not PrepareOk;
        spy = new ReplySpy(cluster, client.Session.Id);
        cluster.SendFromClient(client.Session.Id, primary.Index.Value, new Request(client.Session.Id, 3, RequestKind.Operation, Adder.Encode(1)) { Header = header });
        cluster.SendFromClient(client.Session.Id, primary.Index.Value, new Request(client.Session.Id, 4, RequestKind.Operation, Adder.Encode(1)) { Header = header });
        cluster.RunTicks(5);
        Assert.Contains(spy.Replies, r => r.RequestNumber == 4 && r.Status == ReplyStatus.ConcurrentRequest);
    }

    [Fact]
    public void A_client_evicted_from_a_full_table_is_told_why()
    {
        var cluster = new Cluster(new ClusterOptions
        {
            ReplicaCount = 3,
            Seed = 23,
            ConfigureReplica = o => o with { ClientsMax = 2 },
        });
        var first = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => first.IsIdle, 200));
        var second = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => second.IsIdle, 200));
        var third = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => third.IsIdle, 200));

        Assert.True(cluster.RunUntil(() => first.Session.State == ClientSessionState.Ended, 200));
        Assert.Equal(ReplyStatus.Evicted, first.Session.EndReason);
        Assert.True(cluster.RunUntil(() => cluster.Running.All(r => r.ExecutedOp == cluster.Primary!.ExecutedOp), 200));
        Assert.All(cluster.Running, r => Assert.Equal(2, r.Clients.Count));
        Assert.All(cluster.Running, r => Assert.Null(r.Clients.Find(first.Session.Id)));

        // Its request after eviction is refused, and never executes.
        var spy = new ReplySpy(cluster, first.Session.Id);
        var primary = cluster.Primary!;
        cluster.SendFromClient(first.Session.Id, primary.Index.Value, new Request(first.Session.Id, 1, RequestKind.Operation, Adder.Encode(3))
        {
            Header = new MessageHeader(ClusterId, 0, primary.View, ReplicaIndex.None),
        });
        cluster.RunTicks(10);
        Assert.Equal(ReplyStatus.SessionUnknown, spy.Replies.Single().Status);
        Assert.Equal(0, ((Adder)cluster.Service(primary.Index.Value)).Total);
    }

    [Fact]
    public void A_prediction_is_used_identically_by_all_replicas()
    {
        var clocks = new List<ClockService>();
        var cluster = new Cluster(new ClusterOptions
        {
            ReplicaCount = 3,
            Seed = 24,
            ServiceFactory = () =>
            {
                var service = new ClockService(clocks.Count * 1_000_000L);
                clocks.Add(service);
                return service;
            },
        });
        var client = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => client.IsIdle, 200));
        for (var i = 0; i < 5; i++)
        {
            cluster.Submit(client, [1]);
            Assert.True(cluster.RunUntil(() => client.IsIdle, 200));
        }

        cluster.RunTicks(30);
        var primaryClock = clocks[cluster.Primary!.Index.Value];
        Assert.Equal(5, primaryClock.Predictions);
        Assert.All(clocks, clock => Assert.Equal(primaryClock.Executed, clock.Executed));
        Assert.All(client.Completed, c => Assert.Equal(primaryClock.Executed[(int)c.RequestNumber - 1], BinaryPrimitives.ReadInt64LittleEndian(c.Result)));
        Assert.Equal(0, clocks.Count(c => c != primaryClock && c.Predictions > 0));
    }

    /// <summary>A non-deterministic service: each replica's "clock" differs, so only the primary's prediction keeps them equal.</summary>
    private sealed class ClockService(long offset) : IPredictingService
    {
        private long ticks = offset;

        public int Predictions { get; private set; }

        public List<long> Executed { get; } = [];

        public byte[] Predict(ReadOnlySpan<byte> operation)
        {
            Predictions++;
            var prediction = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(prediction, ++ticks);
            return prediction;
        }

        public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction)
        {
            Executed.Add(BinaryPrimitives.ReadInt64LittleEndian(prediction));
            return prediction.ToArray();
        }
    }

    /// <summary>Captures the replies sent to one client id, without a session in the way.</summary>
    private sealed class ReplySpy
    {
        public ReplySpy(Cluster cluster, ClientId client)
        {
            var previous = cluster.Network.Filter;
            cluster.Network.Filter = packet =>
            {
                if (packet.Message is Reply reply && reply.Client == client)
                {
                    Replies.Add(reply);
                }

                return previous?.Invoke(packet) ?? true;
            };
        }

        public List<Reply> Replies { get; } = [];
    }
}
