using Viewstamped.Runtime.Storage;
using Viewstamped.Samples;
using Viewstamped.Simulation;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>
/// Protocol-aware repair over real files: three replicas of the simulator's cluster, each on a
/// <see cref="FileStorage"/>, with the cluster checker after every step. A committed entry corrupted
/// on one replica's disk must never help decide what was committed, and is repaired from the peers:
/// that entry alone when a peer holds it, else the whole log after the checkpoint.
/// </summary>
public sealed class FileStorageRepairTests : IDisposable
{
    private readonly StorageDirectory damagedDirectory = new();
    private readonly List<string> peerDirectories = [];
    private readonly FileStorage[] storages = new FileStorage[3];

    public FileStorageRepairTests()
    {
        for (var i = 0; i < storages.Length; i++)
        {
            if (i == StorageDirectory.Replica.Value)
            {
                storages[i] = damagedDirectory.Open();
                continue;
            }

            var path = StorageTestData.TemporaryDirectory($"repair-{i}");
            peerDirectories.Add(path);
            FileStorage.Format(path, new StorageIdentity(StorageDirectory.Cluster, new ReplicaIndex((byte)i), StorageDirectory.Configuration));
            storages[i] = FileStorage.Open(path, StorageDirectory.Cluster, new ReplicaIndex((byte)i));
        }
    }

    /// <summary>
    /// Adds 12 to 14 and waits until every replica runs them: each service's total is then the sum
    /// of 1 to 14, so every client answer was the running total (a linearizable history).
    /// </summary>
    private static void AddThroughFourteenOnEveryReplica(Cluster cluster, SimulatedClient client)
    {
        Add(cluster, client, 12, 14);
        Assert.True(cluster.RunUntil(() => cluster.Running.All(r => r.ExecutedOp == cluster.Replica(0).Op), 500));
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(Enumerable.Range(1, 14).Sum(), ((Adder)cluster.Service(i)).Total));
    }

    /// <summary>Crashes the replica and closes its storage, as a power cut would leave its directory.</summary>
    private void CrashAndClose(Cluster cluster, int replica)
    {
        cluster.Crash(replica);
        storages[replica].Dispose();
    }

    /// <summary>Crashes the damaged replica and reopens its directory, as its next start would.</summary>
    private void CrashAndReopen(Cluster cluster, int replica)
    {
        CrashAndClose(cluster, replica);
        storages[replica] = damagedDirectory.Open();
    }

    /// <summary>
    /// A cluster on the three directories that ran 1 to 5 on every replica, then 6 to <paramref name="last"/>
    /// with replica 2 down: those ops are committed by replicas 0 and 1 alone.
    /// </summary>
    private Cluster CommitWithReplicaTwoDown(int last, out SimulatedClient client)
    {
        var cluster = new Cluster(new ClusterOptions { ClusterId = StorageDirectory.Cluster, Storage = i => storages[i] });
        client = cluster.AddClient();
        var registering = client;
        Assert.True(cluster.RunUntil(() => registering.IsIdle, 500));
        Add(cluster, client, 1, 5);
        cluster.Crash(2);
        Add(cluster, client, 6, last);
        return cluster;
    }

    /// <summary>
    /// With replica 0 down, replicas 1 and 2 are a quorum but neither holds <paramref name="op"/>: with
    /// replica 1's vote they would start a view without it and lose a committed op (the checker would
    /// throw), so replica 1 withholds its vote. Then replica 0 comes back, the view starts from its log,
    /// replica 1 takes <paramref name="op"/> from it, and the cluster serves on.
    /// </summary>
    private static void NoViewWithoutReplicaZeroThenRepairFromIt(Cluster cluster, SimulatedClient client, OpNumber op, OpNumber head)
    {
        cluster.RunTicks(2000);
        Assert.All([1, 2], i => Assert.NotEqual(ReplicaStatus.Normal, cluster.Replica(i).Status));
        cluster.Restart(0);
        Assert.True(cluster.RunUntil(() => cluster.Running.All(r => r.Status == ReplicaStatus.Normal && r.ExecutedOp >= head), 3000));
        Assert.Equal(cluster.Replica(0).EntryAt(op), cluster.Replica(1).EntryAt(op));
        AddThroughFourteenOnEveryReplica(cluster, client);
    }

    [Fact]
    public void A_corrupt_committed_entry_in_the_middle_of_the_log_is_fetched_from_a_peer_alone()
    {
        const int damaged = 1;
        var cluster = new Cluster(new ClusterOptions { ClusterId = StorageDirectory.Cluster, Storage = i => storages[i] });
        var client = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => client.IsIdle, 500));
        Add(cluster, client, 1, 11);
        var head = cluster.Replica(0).Op;
        Assert.Equal(new OpNumber(12), head);
        Assert.True(cluster.RunUntil(() => cluster.Running.All(r => r.ExecutedOp == head), 500));

        // One byte of op 6's record body rots on replica 1's disk while it is down.
        CrashAndClose(cluster, damaged);
        var (file, offset, _) = damagedDirectory.EntryRecord(6);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 20);
        storages[damaged] = damagedDirectory.Open();
        Assert.Equal([new OpNumber(6)], storages[damaged].Health.CorruptEntries);
        var found = storages[damaged].Load();
        Assert.True(found.LogDamaged);
        Assert.Equal(new OpNumber(5), found.LogHead);
        Assert.Equal(7, found.DamagedSuffix.Count);
        Assert.Null(found.DamagedSuffix[0]);
        Assert.Equal(Enumerable.Range(7, 6).Select(op => new OpNumber((ulong)op)), found.DamagedSuffix.Skip(1).Select(e => e!.Op));

        // Restarted, it keeps ops 1 to 5, asks a peer for op 6 by its checksum and puts back 6 to 12.
        cluster.Restart(damaged, storages[damaged]);
        Assert.True(cluster.Replica(damaged).IsRepairingEntries);
        Assert.Equal(new OpNumber(5), cluster.Replica(damaged).Op);
        Assert.True(cluster.RunUntil(() => cluster.Replica(damaged).Status == ReplicaStatus.Normal && cluster.Replica(damaged).ExecutedOp == head, 1000));
        Assert.Equal(1, cluster.Replica(damaged).EntriesRepaired);
        Assert.Equal(cluster.Replica(0).EntryAt(new OpNumber(6)), cluster.Replica(damaged).EntryAt(new OpNumber(6)));

        // It serves on, and every client answer is still the running total (a linearizable history).
        AddThroughFourteenOnEveryReplica(cluster, client);

        // The repaired entries are on disk and the damage flag is gone.
        CrashAndReopen(cluster, damaged);
        var state = storages[damaged].Load();
        Assert.False(state.LogDamaged);
        Assert.Empty(state.DamagedSuffix);
        Assert.Equal(cluster.Replica(0).EntryAt(new OpNumber(6)), state.Entries.Single(e => e.Op == new OpNumber(6)));
        Assert.Equal(Enumerable.Range(1, 15).Select(op => new OpNumber((ulong)op)), state.Entries.Select(e => e.Op));
    }

    [Fact]
    public void A_replica_with_a_corrupt_committed_entry_does_not_vote_until_a_peer_repairs_its_log()
    {
        const int damaged = 1;

        // Replica 2 goes down; ops 7 to 12 are committed by replicas 0 and 1 alone.
        var cluster = CommitWithReplicaTwoDown(11, out var client);
        var head = cluster.Replica(0).Op;
        Assert.Equal(new OpNumber(12), head);

        // A committed entry only replicas 0 and 1 hold rots on replica 1's disk; then replica 0 goes down.
        CrashAndClose(cluster, damaged);
        var (file, offset, _) = damagedDirectory.EntryRecord(9);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 20);
        cluster.Crash(0);
        storages[damaged] = damagedDirectory.Open();
        Assert.True(storages[damaged].Health.LogCorrupt);
        Assert.Equal([new OpNumber(9)], storages[damaged].Health.CorruptEntries);
        cluster.Restart(damaged, storages[damaged]);
        Assert.True(cluster.Replica(damaged).IsRepairingEntries);
        Assert.Equal(new OpNumber(8), cluster.Replica(damaged).Op);

        // It crashes again before anyone could send op 9: the cut is final on disk, the damage is
        // remembered, and it takes the safe path: nothing of its log after the checkpoint is trusted.
        cluster.RunTicks(3);
        CrashAndReopen(cluster, damaged);
        Assert.False(storages[damaged].Health.LogCorrupt, storages[damaged].Health.ToString());
        Assert.True(storages[damaged].Load().LogDamaged);
        cluster.Restart(damaged, storages[damaged]);
        Assert.False(cluster.Replica(damaged).IsRepairingEntries);
        Assert.Equal(cluster.Replica(damaged).CheckpointOp, cluster.Replica(damaged).Op);
        cluster.Restart(2);
        NoViewWithoutReplicaZeroThenRepairFromIt(cluster, client, new OpNumber(9), head);

        // The repair is durable: reopened, the directory no longer says the log is damaged.
        CrashAndReopen(cluster, damaged);
        var state = storages[damaged].Load();
        Assert.False(state.LogDamaged);
        Assert.Contains(state.Entries, e => e.Op == new OpNumber(9));
    }

    [Fact]
    public void An_acknowledged_newest_batch_that_rots_is_corruption_not_a_torn_write_and_is_repaired_from_a_peer()
    {
        const int damaged = 1;

        // Replica 2 goes down: from now on replicas 0 and 1 alone commit.
        var cluster = CommitWithReplicaTwoDown(10, out var client);

        // Replica 1 makes op 12 durable, acknowledges it and goes down before it writes anything else:
        // op 12 is in its newest batch, and its PrepareOk lets replica 0 commit op 12.
        var op = new OpNumber(12);
        cluster.Submit(client, Adder.Encode(11));
        Assert.True(cluster.RunUntil(() => cluster.Replica(damaged).Op == op, 500));
        CrashAndClose(cluster, damaged);
        Assert.True(cluster.RunUntil(() => client.IsIdle, 500));
        Assert.Equal(Enumerable.Range(1, 11).Sum(), Adder.Decode(client.Completed[^1].Result));
        Assert.Equal(op, cluster.Replica(0).CommitNumber);

        // Op 12's record rots on replica 1's disk. Its batch is the newest, but the batch ring says it was
        // made durable: that is corruption, never a torn write to cut. Then replica 0 goes down too.
        var (file, offset, _) = damagedDirectory.EntryRecord(12);
        Assert.Equal(damagedDirectory.Records()[^1].Header.Batch, damagedDirectory.EntryRecord(12).Header.Batch);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 20);
        cluster.Crash(0);
        storages[damaged] = damagedDirectory.Open();
        Assert.True(storages[damaged].Health.LogCorrupt, storages[damaged].Health.ToString());
        Assert.Equal([op], storages[damaged].Health.CorruptEntries);
        Assert.Equal(0, storages[damaged].Health.TornRecords);
        Assert.True(storages[damaged].Load().LogDamaged);

        // Had replica 1 cut its newest batch as torn, it would vote with replica 2 for a log without op 12.
        cluster.Restart(damaged, storages[damaged]);
        cluster.Restart(2);
        NoViewWithoutReplicaZeroThenRepairFromIt(cluster, client, op, op);

        // The repair is durable: reopened, the directory is sound and holds op 12 as the peers do.
        CrashAndReopen(cluster, damaged);
        var state = storages[damaged].Load();
        Assert.False(state.LogDamaged);
        Assert.Equal(cluster.Replica(0).EntryAt(op), state.Entries.Single(e => e.Op == op));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_replica_whose_checkpoint_is_corrupt_fetches_one_from_a_peer_while_the_cluster_keeps_serving(bool everyCheckpointCorrupt)
    {
        const int damaged = 1;
        var cluster = new Cluster(new ClusterOptions
        {
            ClusterId = StorageDirectory.Cluster,
            Storage = i => storages[i],
            ConfigureReplica = o => o with { CheckpointInterval = 8, LogSuffix = 2 },
        });
        var client = cluster.AddClient();
        Assert.True(cluster.RunUntil(() => client.IsIdle, 500));
        Add(cluster, client, 1, 30);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(new OpNumber(24), cluster.Replica(i).CheckpointOp));

        // Replica 1's current checkpoint rots (and, in the second case, its previous one too).
        CrashAndClose(cluster, damaged);
        var current = damagedDirectory.File("checkpoint-00000000000000000024.ckpt");
        StorageDirectory.FlipByte(current, StorageLayout.CheckpointHeaderSize + 7);
        if (everyCheckpointCorrupt)
        {
            StorageDirectory.FlipByte(damagedDirectory.File("checkpoint-00000000000000000016.ckpt"), StorageLayout.CheckpointHeaderSize + 7);
        }

        storages[damaged] = damagedDirectory.Open();
        Assert.Equal(everyCheckpointCorrupt ? [new OpNumber(24), new OpNumber(16)] : [new OpNumber(24)], storages[damaged].Health.CorruptCheckpoints);
        Assert.Equal(everyCheckpointCorrupt, storages[damaged].Health.CheckpointLost);
        Assert.Equal(!everyCheckpointCorrupt, storages[damaged].Health.UsesPreviousCheckpoint);
        cluster.Restart(damaged, storages[damaged]);
        if (everyCheckpointCorrupt)
        {
            // Nothing on its disk rebuilds its state: it starts empty, damaged, and does not serve from the corrupt file.
            Assert.Equal(OpNumber.Zero, cluster.Replica(damaged).ExecutedOp);
            Assert.Equal(OpNumber.Zero, cluster.Replica(damaged).CheckpointOp);
        }

        // The cluster keeps serving while it repairs; it ends with its peers' state and a sound checkpoint file.
        Add(cluster, client, 31, 40);
        Assert.True(cluster.RunUntil(() => cluster.Running.All(r => r.Status == ReplicaStatus.Normal && r.ExecutedOp == cluster.Replica(0).Op), 3000));
        Assert.All(Enumerable.Range(0, 3), i => Assert.Equal(Enumerable.Range(1, 40).Sum(), ((Adder)cluster.Service(i)).Total));
        Assert.Equal(cluster.Replica(0).CheckpointOp, cluster.Replica(damaged).CheckpointOp);

        CrashAndReopen(cluster, damaged);
        Assert.Empty(storages[damaged].Health.CorruptCheckpoints);
        var state = storages[damaged].Load();
        Assert.False(state.LogDamaged);
        Assert.Equal(cluster.Replica(0).CheckpointOp, state.Checkpoint!.Op);
        Assert.Empty(Directory.GetFiles(damagedDirectory.Path, "*.tmp"));
        cluster.Restart(damaged, storages[damaged]);
        Assert.True(cluster.RunUntil(() => cluster.Replica(damaged).Status == ReplicaStatus.Normal && cluster.Replica(damaged).ExecutedOp == cluster.Replica(0).Op, 3000));
        Assert.Equal(Enumerable.Range(1, 40).Sum(), ((Adder)cluster.Service(damaged)).Total);
    }

    public void Dispose()
    {
        foreach (var storage in storages)
        {
            storage.Dispose();
        }

        damagedDirectory.Dispose();
        foreach (var path in peerDirectories)
        {
            Directory.Delete(path, recursive: true);
        }
    }

    /// <summary>Adds <paramref name="from"/> to <paramref name="to"/> one request at a time, each answered with the running total.</summary>
    private static void Add(Cluster cluster, SimulatedClient client, int from, int to)
    {
        for (var value = from; value <= to; value++)
        {
            cluster.Submit(client, Adder.Encode(value));
            Assert.True(cluster.RunUntil(() => client.IsIdle, 3000), $"adding {value}");
            Assert.Equal(Enumerable.Range(1, value).Sum(), Adder.Decode(client.Completed[^1].Result));
        }
    }
}
