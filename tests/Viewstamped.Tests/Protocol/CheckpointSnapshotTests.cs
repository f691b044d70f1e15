using System.Buffers;
using Viewstamped.Messages;
using Viewstamped.Samples;

namespace Viewstamped.Tests.Protocol;

/// <summary>
/// Checkpoints of an <see cref="ISnapshottingService"/> are handed out to be written beside the loop and
/// become current only when handed back: until then the previous checkpoint, the hard state and the log stay.
/// </summary>
public class CheckpointSnapshotTests
{
    private static readonly ClientId Client = new(7);

    [Fact]
    public void The_checkpoint_becomes_current_and_the_log_is_compacted_only_when_it_is_handed_back()
    {
        var (replica, service, storage) = Single();
        var snapshot = Execute(replica, storage, requests: 3).Single(); // ops 1..4: the registration and three adds

        Assert.Equal(new OpNumber(4), snapshot.Op);
        Assert.Equal(new OpNumber(4), replica.CheckpointInFlight);
        Assert.Equal(OpNumber.Zero, replica.CheckpointOp);
        Assert.Equal(new OpNumber(1), replica.LogStart);
        Assert.Null(storage.Checkpoint);
        Assert.Equal(4, storage.EntryCount);

        // Executing on after the snapshot does not change what it writes; the checkpoint due at op 8 is skipped.
        Assert.Empty(Execute(replica, storage, requests: 4, from: 4));
        Assert.Equal(7, service.Total);
        var checkpoint = snapshot.Write();
        replica.CheckpointWritten(checkpoint);
        var ready = replica.TakeReady();
        storage.Persist(ready);

        Assert.True(service.Released);
        Assert.Null(replica.CheckpointInFlight);
        Assert.Same(checkpoint, ready.Checkpoint);
        Assert.Equal(new OpNumber(4), ready.CompactBefore);
        Assert.Equal(new OpNumber(4), replica.CheckpointOp);
        var restored = new SnapshottingAdder();
        var state = checkpoint.State.ToArray();
        restored.RestoreCheckpoint(state.AsSpan(4 + BitConverter.ToInt32(state)));
        Assert.Equal(3, restored.Total);
    }

    [Fact]
    public void A_crash_before_the_checkpoint_is_handed_back_restarts_from_the_previous_state_and_the_whole_log()
    {
        var (replica, _, storage) = Single();
        Assert.Single(Execute(replica, storage, requests: 5));

        var restarted = new Replica(replica.Options with { Seed = 9 }, new SnapshottingAdder(), storage.Load());

        Assert.Equal(OpNumber.Zero, restarted.CheckpointOp);
        Assert.Null(restarted.CheckpointInFlight);
        Assert.Equal(new OpNumber(1), restarted.LogStart);
        Assert.Equal(new OpNumber(6), restarted.Op);
    }

    [Fact]
    public void Only_the_checkpoint_in_flight_is_taken_back()
    {
        var (replica, _, storage) = Single();
        var snapshot = Execute(replica, storage, requests: 3).Single();
        var stranger = new Checkpoint(snapshot.Op, [0, 0, 0, 0, 1, 0, 0, 0], 0);

        Assert.Throws<ArgumentException>(() => replica.CheckpointWritten(stranger));
        var checkpoint = snapshot.Write();
        Assert.Throws<InvalidOperationException>(() => snapshot.Write());
        replica.CheckpointWritten(checkpoint);
        Assert.Throws<ArgumentException>(() => replica.CheckpointWritten(checkpoint));
    }

    private static (Replica Replica, SnapshottingAdder Service, MemoryStorage Storage) Single()
    {
        var service = new SnapshottingAdder();
        var options = new ReplicaOptions
        {
            Cluster = ReplicaHarness.ClusterId,
            ReplicaCount = 1,
            Replica = new ReplicaIndex(0),
            Seed = 1,
            CheckpointInterval = 4,
            LogSuffix = 1,
        };
        return (new Replica(options, service), service, new MemoryStorage());
    }

    /// <summary>Registers (unless <paramref name="from"/> says it was) and adds 1 <paramref name="requests"/> times; returns the snapshots handed out.</summary>
    private static List<CheckpointSnapshot> Execute(Replica replica, MemoryStorage storage, int requests, int from = 0)
    {
        var snapshots = new List<CheckpointSnapshot>();
        if (from == 0)
        {
            replica.Step(new Request(Client, 0, RequestKind.Register, []) { Header = ReplicaHarness.FromClient() });
            Collect();
        }

        for (var n = from + 1; n <= from + requests; n++)
        {
            replica.Step(new Request(Client, (ulong)n, RequestKind.Operation, Adder.Encode(1)) { Header = ReplicaHarness.FromClient() });
            Collect();
        }

        return snapshots;

        void Collect()
        {
            var ready = replica.TakeReady();
            storage.Persist(ready);
            if (ready.Snapshot is { } snapshot)
            {
                snapshots.Add(snapshot);
            }
        }
    }

    /// <summary>The Adder, with snapshots: its total when the snapshot was taken.</summary>
    private sealed class SnapshottingAdder : ISnapshottingService
    {
        private readonly Adder adder = new();

        public int Total => adder.Total;

        public bool Released { get; private set; }

        public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction) => adder.Execute(operation, prediction);

        public byte[] WriteCheckpoint() => adder.WriteCheckpoint();

        public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint) => adder.RestoreCheckpoint(checkpoint);

        public IServiceSnapshot TakeSnapshot() => new Snapshot(adder.WriteCheckpoint(), this);

        private sealed class Snapshot(byte[] state, SnapshottingAdder owner) : IServiceSnapshot
        {
            public void WriteTo(IBufferWriter<byte> destination) => destination.Write(state);

            public void Dispose() => owner.Released = true;
        }
    }
}
