using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Runtime.Storage;
using static Viewstamped.Runtime.Tests.Storage.StorageTestData;

namespace Viewstamped.Runtime.Tests.Storage;

public sealed class FileStorageTests
{
    [Fact]
    public void Format_creates_the_directory_and_the_superblock_holds_the_identity()
    {
        using var directory = new StorageDirectory();
        var info = FileStorage.Inspect(directory.Path);
        Assert.Equal(StorageDirectory.Cluster, info.Identity.Cluster);
        Assert.Equal(StorageDirectory.Replica, info.Identity.Replica);
        Assert.Equal(StorageDirectory.Configuration, info.Identity.Configuration);
        Assert.Equal(4, info.SuperblockCopiesValid);
        Assert.Equal(default, info.HardState);
        Assert.Null(info.CheckpointOp);
    }

    [Fact]
    public void Format_never_overwrites_a_formatted_directory()
    {
        using var directory = new StorageDirectory();
        using (var storage = directory.Open())
        {
            storage.Persist(Appends(1, 3));
        }

        var before = directory.Snapshot();
        var error = Assert.Throws<StorageException>(() => FileStorage.Format(directory.Path, StorageDirectory.Identity));
        Assert.Equal(StorageError.AlreadyFormatted, error.Error);
        Assert.Contains("refusing to overwrite", error.Message, StringComparison.Ordinal);
        directory.AssertUnchangedSince(before);
    }

    [Theory]
    [InlineData(0, 3, "cluster id must not be zero")]
    [InlineData(1, 3, "replica index 3 is outside the configuration of 3 replicas")]
    public void Format_refuses_an_invalid_identity(int cluster, int replica, string message)
    {
        var error = Assert.Throws<StorageException>(() => new StorageIdentity((UInt128)cluster, new ReplicaIndex((byte)replica), StorageDirectory.Configuration));
        Assert.Equal(StorageError.InvalidArgument, error.Error);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a:1,a:1", "listed twice")]
    [InlineData("host", "is not HOST:PORT")]
    [InlineData("host:0", "no port from 1 to 65535")]
    [InlineData("::1:7000", "IPv6 address in brackets")]
    [InlineData("", "lists no replica")]
    public void Configurations_are_checked(string text, string message)
    {
        var problem = StorageIdentity.TryParseConfiguration(text, out var configuration);
        problem ??= Assert.Throws<StorageException>(() => new StorageIdentity(1, new ReplicaIndex(0), configuration)).Message;
        Assert.Contains(message, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0x1", 1UL, 0UL)]
    [InlineData("0xFFFF_FFFF_FFFF_FFFF_0000_0000_0000_0002", 2UL, ulong.MaxValue)]
    [InlineData("42", 42UL, 0UL)]
    [InlineData("340282366920938463463374607431768211455", ulong.MaxValue, ulong.MaxValue)]
    public void Cluster_ids_are_hex_with_0x_or_decimal(string text, ulong low, ulong high)
    {
        Assert.True(StorageIdentity.TryParseCluster(text, out var cluster, out var error), error);
        Assert.Equal(new UInt128(high, low), cluster);
        Assert.True(StorageIdentity.TryParseCluster(StorageIdentity.FormatCluster(cluster), out var again, out _));
        Assert.Equal(cluster, again);
    }

    [Theory]
    [InlineData("0", "must not be zero")]
    [InlineData("c1", "write it as 0xc1")]
    [InlineData("0x", "1 to 32 hex digits")]
    [InlineData("0x1_0000_0000_0000_0000_0000_0000_0000_0000", "1 to 32 hex digits")]
    [InlineData("340282366920938463463374607431768211456", "below 2^128")]
    [InlineData("-5", "below 2^128")]
    public void Bad_cluster_ids_are_refused_with_a_reason(string text, string message)
    {
        Assert.False(StorageIdentity.TryParseCluster(text, out _, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_a_missing_directory_fails_clearly()
    {
        var path = TemporaryDirectory("missing");
        var error = Assert.Throws<StorageException>(() => FileStorage.Open(path, StorageDirectory.Cluster, StorageDirectory.Replica));
        Assert.Equal(StorageError.DirectoryMissing, error.Error);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(path));
    }

    [Fact]
    public void Opening_an_unformatted_directory_fails_clearly_and_changes_nothing()
    {
        using var directory = new StorageDirectory(format: false);
        Directory.CreateDirectory(directory.Path);
        var error = Assert.Throws<StorageException>(() => directory.Open());
        Assert.Equal(StorageError.NotFormatted, error.Error);
        Assert.Contains("vsr format", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(directory.Path));
    }

    [Fact]
    public void Opening_another_clusters_or_replicas_directory_fails_clearly_and_changes_nothing()
    {
        using var directory = new StorageDirectory();
        using (var storage = directory.Open())
        {
            storage.Persist(Appends(1, 3));
        }

        var before = directory.Snapshot();
        var wrongCluster = Assert.Throws<StorageException>(() => FileStorage.Open(directory.Path, StorageDirectory.Cluster + 1, StorageDirectory.Replica));
        Assert.Equal(StorageError.WrongCluster, wrongCluster.Error);
        Assert.Contains("belongs to cluster 0x5eed", wrongCluster.Message, StringComparison.Ordinal);
        var wrongReplica = Assert.Throws<StorageException>(() => FileStorage.Open(directory.Path, StorageDirectory.Cluster, new ReplicaIndex(2)));
        Assert.Equal(StorageError.WrongReplica, wrongReplica.Error);
        Assert.Contains("belongs to replica 1, not replica 2", wrongReplica.Message, StringComparison.Ordinal);
        directory.AssertUnchangedSince(before);
    }

    [Fact]
    public void Opening_a_future_format_version_fails_clearly_and_changes_nothing()
    {
        using var directory = new StorageDirectory();
        for (var copy = 0; copy < StorageLayout.SuperblockCopies; copy++)
        {
            directory.EditSuperblockCopy(copy, slot => BinaryPrimitives.WriteUInt32LittleEndian(slot.AsSpan(16), 2));
        }

        var before = directory.Snapshot();
        var error = Assert.Throws<StorageException>(() => directory.Open());
        Assert.Equal(StorageError.UnsupportedVersion, error.Error);
        Assert.Contains("format version 2; this build reads only version 1", error.Message, StringComparison.Ordinal);
        directory.AssertUnchangedSince(before);
    }

    [Fact]
    public void A_directory_open_in_one_place_cannot_be_opened_again()
    {
        using var directory = new StorageDirectory();
        using var first = directory.Open();
        var error = Assert.Throws<StorageException>(() => directory.Open());
        Assert.Equal(StorageError.InUse, error.Error);
    }

    [Fact]
    public void A_view_change_rewrites_the_superblock_but_commit_progress_does_not()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Ready([Append(Entry(1))], Hard(0, 0, 1)));

        // The first write after opening records which boot writes the log (docs/storage.md), once.
        Assert.Equal(1, storage.Statistics.SuperblockWrites);
        storage.Persist(Ready([Append(Entry(2))], Hard(0, 0, 2)));
        Assert.Equal(1, storage.Statistics.SuperblockWrites);
        storage.Persist(Ready(hardState: Hard(3, 0, 2)));
        Assert.Equal(2, storage.Statistics.SuperblockWrites);
        storage.Dispose();
        Assert.Equal(Hard(3, 0, 2), FileStorage.Inspect(directory.Path).HardState);
        storage = directory.Open();
        Assert.Equal(Hard(3, 0, 2), storage.Load().HardState);
    }

    [Fact]
    public void A_persisted_checkpoint_is_read_from_its_file_and_its_memory_copy_goes()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        var checkpoint = Checkpoint(5, size: (5 * CheckpointState.ChunkSize / 2) + 7);
        var bytes = checkpoint.State.ToArray();
        storage.Persist(Appends(1, 5));
        storage.Persist(Ready(checkpoint: checkpoint));

        // The replica's checkpoint now reads its file: a range across a chunk boundary, and all of it.
        Assert.IsType<FileCheckpointState>(checkpoint.State);
        var range = new byte[1000];
        checkpoint.State.Read(CheckpointState.ChunkSize - 500, range);
        Assert.Equal(bytes.AsSpan(CheckpointState.ChunkSize - 500, 1000).ToArray(), range);
        Assert.Equal(checkpoint.Checksum, checkpoint.State.ComputeChecksum());
        Assert.Throws<ArgumentOutOfRangeException>(() => checkpoint.State.Read(bytes.Length - 10, range));

        // So does the checkpoint a restart loads.
        storage = directory.Reopen(storage);
        var loaded = storage.Load().Checkpoint!;
        Assert.IsType<FileCheckpointState>(loaded.State);
        Assert.Equal(bytes, loaded.State.ToArray());
        Assert.Equal(bytes, loaded.State.ToSequence().ToArray());
    }

    [Fact]
    public void A_checkpoint_written_straight_to_its_file_is_sealed_when_persisted_and_an_abandoned_one_is_deleted()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        var bytes = Enumerable.Range(0, (3 * CheckpointState.ChunkSize / 2) + 11).Select(i => (byte)(i * 13)).ToArray();

        // Begun before the first write, as a replica replaying its log at start-up does: the clean-up
        // of stale files that the first write runs must leave it alone.
        var builder = storage.Begin(new OpNumber(4));
        builder.Write(bytes.AsSpan(0, 100));
        var span = builder.GetSpan(CheckpointState.ChunkSize + 5); // more than the buffer holds
        bytes.AsSpan(100, CheckpointState.ChunkSize + 5).CopyTo(span);
        builder.Advance(CheckpointState.ChunkSize + 5);
        builder.Write(bytes.AsSpan(CheckpointState.ChunkSize + 105));
        storage.Persist(Appends(1, 4));
        var state = builder.Build();
        Assert.Equal(XxHash64.HashToUInt64(bytes), state.ComputeChecksum());
        var checkpoint = new Checkpoint(new OpNumber(4), state, state.ComputeChecksum());
        storage.Persist(Ready(checkpoint: checkpoint));
        Assert.Same(state, checkpoint.State);
        Assert.Equal(bytes, checkpoint.State.ToArray());

        var abandoned = storage.Begin(new OpNumber(9));
        abandoned.Write(bytes.AsSpan(0, 1000));
        var abandonedFile = Path.Combine(directory.Path, "checkpoint-00000000000000000009.ckpt.tmp");
        Assert.True(File.Exists(abandonedFile));
        abandoned.Abandon();
        Assert.False(File.Exists(abandonedFile));

        storage = directory.Reopen(storage);
        Assert.True(storage.Health.IsHealthy, string.Join("; ", storage.Health.Problems));
        var loaded = storage.Load().Checkpoint!;
        Assert.Equal(new OpNumber(4), loaded.Op);
        Assert.Equal(bytes, loaded.State.ToArray());
    }

    [Fact]
    public async Task Group_commit_makes_concurrent_appends_durable_with_few_fsyncs()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        var gate = new object();
        var next = 0UL;
        const int writers = 32;
        const int perWriter = 40;

        async Task Writer()
        {
            for (var i = 0; i < perWriter; i++)
            {
                Task durable;
                lock (gate)
                {
                    next++;
                    durable = storage.AppendAsync(Entry(next, size: 100)).AsTask();
                }

                await durable;
            }
        }

        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(Writer)));
        var statistics = storage.Statistics;
        Assert.Equal(writers * perWriter, statistics.Records);
        Assert.True(statistics.Batches < statistics.Records / 2, $"{statistics.Batches} batches for {statistics.Records} records");
        storage = directory.Reopen(storage);
        var state = storage.Load();
        Assert.Equal(Enumerable.Range(1, writers * perWriter).Select(i => (ulong)i), state.Entries.Select(e => e.Op.Value));
        Assert.Equal(Entry(77, size: 100), state.Entries[76]);
    }

    [Fact]
    public async Task Persist_async_applies_readies_in_call_order()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        var pending = new List<Task>();
        for (var op = 1UL; op <= 50; op++)
        {
            pending.Add(storage.PersistAsync(Ready([Append(Entry(op))], Hard(1, 1, op - 1))).AsTask());
        }

        pending.Add(storage.PersistAsync(Ready([TruncateAfter(40)], Hard(2, 1, 40))).AsTask());
        await Task.WhenAll(pending);

        var state = directory.Reopen(storage).Load();
        Assert.Equal(new OpNumber(40), state.LogHead);
        Assert.Equal(Hard(2, 1, 40), state.HardState);
    }

    [Fact]
    public async Task A_ready_may_be_refilled_as_soon_as_persist_async_returns_and_pooled_buffers_never_mix_writes()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        var reference = new MemoryStorage();
        var ready = Ready();
        var pending = new List<Task>();
        for (var op = 1UL; op <= 60; op++)
        {
            // Sizes go up and down, so pooled buffers are handed out again with old bytes in them.
            var entry = Entry(op, size: (int)(op * 37 % 500) + 1);
            ready.LogChanges.Add(Append(entry));
            reference.Persist(ready);
            pending.Add(storage.PersistAsync(ready).AsTask());

            // The caller (a replica host recycling its Ready) refills it while the write may still be queued.
            ready.LogChanges.Clear();
            ready.LogChanges.Add(Append(Entry(op + 1000, size: 9)));
            ready.LogChanges.Clear();
        }

        await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(20));
        AssertSameState(reference.Load(), directory.Reopen(storage).Load());
    }

    [Fact]
    public async Task Readies_are_written_at_once_without_gathering_for_more()
    {
        using var directory = new StorageDirectory();
        // A gather far longer than the waits below: holding a Ready back to gather would time out.
        var storage = directory.Open(new FileStorageOptions { GroupCommitGather = TimeSpan.FromSeconds(60) });
        var pending = new List<Task>();
        for (var op = 1UL; op <= 50; op++)
        {
            pending.Add(storage.PersistAsync(Ready([Append(Entry(op))], Hard(1, 1, op - 1))).AsTask());
        }

        await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(storage.Statistics.Batches < 50, "readies queued during an fsync share the next one");

        // The batch before held several readies; the next lone Ready still goes at once.
        await storage.PersistAsync(Ready([Append(Entry(51))], Hard(1, 1, 50))).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(new OpNumber(51), directory.Reopen(storage).Load().LogHead);
    }

    [Fact]
    public void Compaction_deletes_segments_and_only_two_checkpoints_are_kept()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open(segmentSize: 4096);
        var reference = new MemoryStorage();

        void Both(Ready ready)
        {
            storage.Persist(ready);
            reference.Persist(ready);
        }

        for (var round = 1UL; round <= 6; round++)
        {
            Both(Appends((round - 1) * 100 + 1, round * 100, size: 50));
            Both(Ready(checkpoint: Checkpoint(round * 100 - 10), compactBefore: new OpNumber(round * 100 - 30)));
        }

        Assert.Equal(["checkpoint-00000000000000000490.ckpt", "checkpoint-00000000000000000590.ckpt"], directory.Checkpoints());
        var segments = directory.Segments();
        Assert.True(segments.Length < 12, $"{segments.Length} segments left");
        Assert.DoesNotContain(segments, s => s.EndsWith("log-0000000001.wal", StringComparison.Ordinal));
        storage = directory.Reopen(storage, 4096);
        Assert.True(storage.Health.IsHealthy, storage.Health.ToString());
        AssertSameState(reference.Load(), storage.Load());
    }

    [Fact]
    public void Reopening_many_times_keeps_appending_after_the_last_record()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        for (var op = 1UL; op <= 20; op++)
        {
            storage.Persist(Appends(op, op));
            storage = directory.Reopen(storage);
        }

        Assert.Equal(20, storage.Load().Entries.Count);
        Assert.True(storage.Health.IsHealthy);
    }

    [Fact]
    public void A_disposed_storage_refuses_writes()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 2));
        storage.Dispose();
        Assert.Throws<ObjectDisposedException>(() => storage.Persist(Appends(3, 3)));
    }
}
