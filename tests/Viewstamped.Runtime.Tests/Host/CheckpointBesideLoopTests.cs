using System.Buffers;
using Microsoft.Extensions.Logging;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Tests.Storage;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Host;

/// <summary>The host writes the checkpoints of an <see cref="ISnapshottingService"/> beside its loop, into its file storage.</summary>
public class CheckpointBesideLoopTests
{
    private static readonly UInt128 Cluster = 0xC4EC;

    [Fact]
    public async Task A_snapshotting_service_checkpoints_beside_the_loop_and_a_restart_starts_from_the_checkpoint()
    {
        var endpoint = Ports.FreeEndpoints(1)[0];
        var path = StorageTestData.TemporaryDirectory("checkpoint-beside");
        FileStorage.Format(path, new StorageIdentity(Cluster, new ReplicaIndex(0), [endpoint]));
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));

        using (var storage = FileStorage.Open(path, Cluster, new ReplicaIndex(0)))
        {
            await using var host = new ReplicaHost(Options(endpoint), new SnapshottingAdder(), storage, loggers);
            await host.StartAsync();
            await using (var client = Client(endpoint, loggers))
            {
                for (var i = 0; i < 40; i++)
                {
                    await client.InvokeAsync(Adder.Encode(1));
                }
            }

            using var cts = new CancellationTokenSource(Bounded.Short);
            var status = await host.WaitForStatusAsync(s => s.CheckpointOp.Value >= 32, cts.Token);
            Assert.True(status.CheckpointOp.Value % 8 == 0);
            await host.StopAsync();
        }

        Assert.True(logs.Contains("writing it beside the loop"), logs.Dump());
        Assert.True(logs.Contains("beside the loop in"), logs.Dump());

        using var reopened = FileStorage.Open(path, Cluster, new ReplicaIndex(0));
        var durable = reopened.Load();
        Assert.NotNull(durable.Checkpoint);
        Assert.True(durable.Checkpoint.Op.Value >= 32);
        var service = new SnapshottingAdder();
        var restarted = new Replica(Options(endpoint).ToReplicaOptions(7), service, durable);
        // The registration and 40 adds; the service starts from the checkpoint (op n holds n - 1 adds).
        Assert.Equal(41UL, restarted.Op.Value);
        Assert.True(service.Total >= (int)durable.Checkpoint.Op.Value - 1);
        Assert.True(restarted.LogStart.Value > 1, "the log before the checkpoint was compacted");
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(0, false)]
    [InlineData(1 << 20, false)]
    public async Task A_checkpoint_as_large_as_the_threshold_asks_for_a_background_collection_and_none_when_off_or_smaller(long threshold, bool expected)
    {
        var endpoint = Ports.FreeEndpoints(1)[0];
        var path = StorageTestData.TemporaryDirectory("checkpoint-collect");
        FileStorage.Format(path, new StorageIdentity(Cluster, new ReplicaIndex(0), [endpoint]));
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        using var storage = FileStorage.Open(path, Cluster, new ReplicaIndex(0));
        var options = Options(endpoint, collectAfterCheckpointBytes: threshold);
        await using var host = new ReplicaHost(options, new SnapshottingAdder(), storage, loggers);
        await host.StartAsync();
        await using (var client = Client(endpoint, loggers))
        {
            for (var i = 0; i < 20; i++)
            {
                await client.InvokeAsync(Adder.Encode(1));
            }
        }

        using var cts = new CancellationTokenSource(Bounded.Short);
        await host.WaitForStatusAsync(s => s.CheckpointOp.Value >= 16, cts.Token);
        await host.StopAsync();

        Assert.True(logs.Contains("beside the loop in"), logs.Dump());
        Assert.Equal(expected, logs.Contains("asked for a background collection after the checkpoint"));
    }

    private static ReplicaHostOptions Options(string endpoint, long collectAfterCheckpointBytes = 16 << 20)
    {
        var options = new ReplicaHostOptions
        {
            Cluster = Cluster,
            Replica = 0,
            CheckpointInterval = 8,
            LogSuffix = 2,
            CollectAfterCheckpointBytes = collectAfterCheckpointBytes,
        };
        options.Replicas.Add(endpoint);
        return options;
    }

    private static ViewstampedClient Client(string endpoint, ILoggerFactory loggers)
    {
        var options = new ViewstampedClientOptions { Cluster = Cluster, RequestTimeout = TimeSpan.FromSeconds(10) };
        options.Replicas.Add(endpoint);
        return new ViewstampedClient(options, loggers);
    }

    /// <summary>The Adder, with snapshots of its total.</summary>
    private sealed class SnapshottingAdder : ISnapshottingService
    {
        private readonly Adder adder = new();

        public int Total => adder.Total;

        public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction) => adder.Execute(operation, prediction);

        public byte[] WriteCheckpoint() => adder.WriteCheckpoint();

        public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint) => adder.RestoreCheckpoint(checkpoint);

        public IServiceSnapshot TakeSnapshot() => new Snapshot(adder.WriteCheckpoint());

        private sealed class Snapshot(byte[] state) : IServiceSnapshot
        {
            public void WriteTo(IBufferWriter<byte> destination) => destination.Write(state);

            public void Dispose()
            {
            }
        }
    }
}
