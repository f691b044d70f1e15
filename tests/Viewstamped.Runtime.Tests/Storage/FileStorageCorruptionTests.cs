using System.Buffers.Binary;
using Viewstamped.Runtime.Storage;
using static Viewstamped.Runtime.Tests.Storage.StorageTestData;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>
/// Damage injected into real files: every kind is detected and then repaired (a torn tail cut, a
/// superblock copy outvoted, a checkpoint replaced by the previous one) or refused with a clear
/// message, and never answered with wrong data.
/// </summary>
public sealed class FileStorageCorruptionTests
{
    [Fact]
    public void One_corrupt_superblock_copy_is_outvoted()
    {
        using var directory = new StorageDirectory();
        using (var storage = directory.Open())
        {
            storage.Persist(Ready(hardState: Hard(4, 4, 0)));
        }

        StorageDirectory.FlipByte(directory.File(StorageLayout.SuperblockFileName), StorageLayout.SuperblockSlotSize + 100);
        var reopened = directory.Open();
        Assert.Equal(3, reopened.Health.SuperblockCopiesValid);
        Assert.False(reopened.Health.IsHealthy);
        Assert.Contains(reopened.Health.Problems, p => p.Contains("superblock copy 1: checksum mismatch", StringComparison.Ordinal));
        Assert.Equal(Hard(4, 4, 0), reopened.Load().HardState);

        // The next superblock update rewrites every copy.
        reopened.Persist(Ready(hardState: Hard(5, 5, 0)));
        reopened.Dispose();
        Assert.Equal(4, FileStorage.Inspect(directory.Path).SuperblockCopiesValid);
    }

    [Fact]
    public void A_torn_superblock_update_is_outvoted_by_the_newest_complete_copy()
    {
        using var directory = new StorageDirectory();
        using (var storage = directory.Open())
        {
            storage.Persist(Ready(hardState: Hard(2, 2, 0)));
            storage.Persist(Ready(hardState: Hard(3, 3, 0)));
        }

        // Power failed while the update to view 4 was written: copy 0 landed and was synced, copy 1 is torn,
        // copies 2 and 3 still hold the previous update.
        directory.EditSuperblockCopy(0, slot =>
        {
            BinaryPrimitives.WriteUInt64LittleEndian(slot.AsSpan(24), BinaryPrimitives.ReadUInt64LittleEndian(slot.AsSpan(24)) + 1);
            BinaryPrimitives.WriteUInt64LittleEndian(slot.AsSpan(56), 4);
            BinaryPrimitives.WriteUInt64LittleEndian(slot.AsSpan(64), 4);
        });
        StorageDirectory.FlipByte(directory.File(StorageLayout.SuperblockFileName), StorageLayout.SuperblockSlotSize + 9000);

        using var reopened = directory.Open();
        Assert.Equal(Hard(4, 4, 0), reopened.Load().HardState);
        Assert.Equal(1, reopened.Health.SuperblockCopiesValid);
        Assert.Contains(reopened.Health.Problems, p => p.Contains("stale", StringComparison.Ordinal));
        Assert.Contains(reopened.Health.Problems, p => p.Contains("copy 1: checksum mismatch", StringComparison.Ordinal));
    }

    [Fact]
    public void A_misdirected_superblock_copy_is_not_trusted()
    {
        using var directory = new StorageDirectory();
        using (var storage = directory.Open())
        {
            storage.Persist(Ready(hardState: Hard(2, 2, 0)));
        }

        // Copy 0's bytes landed in slot 2 (its own checksum is valid, its slot number is not).
        var file = directory.File(StorageLayout.SuperblockFileName);
        var bytes = File.ReadAllBytes(file);
        Array.Copy(bytes, 0, bytes, 2 * StorageLayout.SuperblockSlotSize, StorageLayout.SuperblockSlotSize);
        File.WriteAllBytes(file, bytes);
        using var reopened = directory.Open();
        Assert.Equal(3, reopened.Health.SuperblockCopiesValid);
        Assert.Contains(reopened.Health.Problems, p => p.Contains("misdirected", StringComparison.Ordinal));
    }

    [Fact]
    public void A_directory_whose_superblock_copies_are_all_unreadable_is_refused_and_unchanged()
    {
        using var directory = new StorageDirectory();
        using (var storage = directory.Open())
        {
            storage.Persist(Appends(1, 5));
        }

        for (var copy = 0; copy < StorageLayout.SuperblockCopies; copy++)
        {
            StorageDirectory.FlipByte(directory.File(StorageLayout.SuperblockFileName), (copy * StorageLayout.SuperblockSlotSize) + 60);
        }

        var before = directory.Snapshot();
        var error = Assert.Throws<StorageException>(() => directory.Open());
        Assert.Equal(StorageError.SuperblockUnreadable, error.Error);
        Assert.Contains("every superblock copy", error.Message, StringComparison.Ordinal);
        directory.AssertUnchangedSince(before);
    }

    [Fact]
    public void A_corrupt_entry_in_the_middle_ends_the_log_before_it_and_is_reported()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        for (var op = 1UL; op <= 10; op++)
        {
            storage.Persist(Ready([Append(Entry(op, size: 64))], Hard(1, 1, op)));
        }

        storage.Dispose();
        var (file, offset, header) = directory.EntryRecord(6);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 50);
        var before = directory.Snapshot();

        storage = directory.Open();
        var health = storage.Health;
        Assert.True(health.LogCorrupt);
        Assert.Equal([new OpNumber(6)], health.CorruptEntries);
        Assert.Equal([7UL, 8, 9, 10], health.EntriesAfterCorruption.Select(o => o.Value));
        Assert.Contains(health.Problems, p => p.Contains("record", StringComparison.Ordinal) && p.Contains("op 6", StringComparison.Ordinal));
        var state = storage.Load();
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5 }, state.Entries.Select(e => e.Op.Value));
        Assert.Equal(new OpNumber(5), state.LogHead);
        Assert.Equal(Hard(1, 1, 5), state.HardState);
        storage.Dispose();
        directory.AssertUnchangedSince(before);

        // The replica carries on from the cut (it re-fetches op 6 from a peer); the void makes that durable.
        storage = directory.Open();
        storage.Persist(Ready([Append(Entry(6, view: 2, size: 64)), Append(Entry(7, view: 2))], Hard(2, 2, 5)));
        storage = directory.Reopen(storage);
        Assert.False(storage.Health.LogCorrupt, storage.Health.ToString());
        state = storage.Load();
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5, 6, 7 }, state.Entries.Select(e => e.Op.Value));
        Assert.Equal(Entry(6, view: 2, size: 64), state.Entries[5]);
        Assert.Equal(Hard(2, 2, 5), state.HardState);
        _ = header;
    }

    [Fact]
    public void A_corrupt_record_header_in_the_middle_is_corruption_not_a_torn_write()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        for (var op = 1UL; op <= 10; op++)
        {
            storage.Persist(Appends(op, op));
        }

        storage.Dispose();
        var (file, offset, _) = directory.EntryRecord(4);
        StorageDirectory.FlipByte(file, offset + 20);
        storage = directory.Open();
        Assert.True(storage.Health.LogCorrupt);
        Assert.Equal(new ulong[] { 1, 2, 3 }, storage.Load().Entries.Select(e => e.Op.Value));
        Assert.Equal([5UL, 6, 7, 8, 9, 10], storage.Health.EntriesAfterCorruption.Select(o => o.Value));
    }

    [Fact]
    public void A_log_truncated_in_the_middle_of_its_last_entry_is_a_torn_write_and_is_cut()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 5, size: 100));
        storage.Persist(Appends(6, 8, size: 100));
        storage.Dispose();

        // The power failed while batch 6..8 was written: its fsync never returned, so it has no summary.
        Assert.Equal(8UL, directory.ForgetNewestSummary().LastOp);
        var (file, offset, _) = directory.EntryRecord(7);
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(offset + 90);
        }

        storage = directory.Open();
        Assert.False(storage.Health.LogCorrupt, storage.Health.ToString());
        Assert.True(storage.Health.IsHealthy);
        Assert.Equal(1, storage.Health.TornRecords);
        Assert.Contains(storage.Health.Problems, p => p.Contains("torn write cut", StringComparison.Ordinal));

        // The whole torn batch (6..8) goes: a batch is atomic.
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5 }, storage.Load().Entries.Select(e => e.Op.Value));
        storage.Persist(Appends(6, 6, view: 3));
        storage = directory.Reopen(storage);
        Assert.Equal(0, storage.Health.TornRecords);
        Assert.Equal(Entry(6, view: 3), storage.Load().Entries[^1]);
    }

    [Fact]
    public void A_damaged_last_batch_without_a_summary_reads_as_a_torn_write_and_returns_only_what_came_before()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 4));
        storage.Persist(Appends(5, 6));
        storage.Dispose();

        // Its summary never reached the disk, so nothing says the batch was complete: a torn write, never acknowledged.
        directory.ForgetNewestSummary();
        var (file, offset, _) = directory.EntryRecord(6);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 3);
        storage = directory.Open();
        Assert.False(storage.Health.LogCorrupt, storage.Health.ToString());
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, storage.Load().Entries.Select(e => e.Op.Value));
        Assert.False(storage.Load().LogDamaged);
        Assert.Equal(2, storage.Health.TornRecords);
    }

    [Fact]
    public void A_damaged_newest_batch_without_a_synced_summary_leaves_an_uncertain_tail_that_a_second_power_cut_keeps()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Ready(Appends(1, 4).LogChanges, Hard(1, 1, 2)));
        storage.Persist(Appends(5, 6));
        storage = directory.Reopen(storage);
        Assert.False(storage.Load().TailUncertain);
        storage.Dispose();

        // The newest batch may have been acknowledged and then rotted before its summary reached the disk, or
        // torn by the power cut: the two look the same, so the load says the tail is uncertain.
        directory.ForgetNewestSummary();
        var (file, offset, _) = directory.EntryRecord(6);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 3);
        storage = directory.Open();
        Assert.Equal(2, storage.Health.TornRecords);
        var state = storage.Load();
        Assert.False(state.LogDamaged);
        Assert.True(state.TailUncertain);
        Assert.True(state.HardState.TailUncertain);
        Assert.Equal(new OpNumber(4), state.LogHead);

        // The first write cuts the torn tail, so nothing on disk shows it any more; the superblock still says
        // so, even when that write carries no hard state of the replica's.
        storage.Persist(Appends(5, 5, view: 2));
        storage = directory.Reopen(storage);
        Assert.Equal(0, storage.Health.TornRecords);
        Assert.True(storage.Load().TailUncertain);

        // A hard state without the flag (the replica installed a peer's log) clears it.
        storage.Persist(Ready(hardState: Hard(2, 2, 5)));
        storage = directory.Reopen(storage);
        Assert.False(storage.Load().TailUncertain);
        Assert.False(storage.Load().HardState.TailUncertain);
        storage.Dispose();
    }

    [Fact]
    public void A_log_already_flagged_damaged_offers_no_suffix_for_per_entry_repair_when_more_of_it_rots()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 4));
        storage.Persist(Appends(5, 8));

        // The replica is repairing an earlier damage (its durable hard state says so) when op 3 rots too.
        storage.Persist(Ready(hardState: Hard(2, 2, 2) with { LogDamaged = true }));
        storage.Dispose();
        var (file, offset, _) = directory.EntryRecord(3);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 3);

        // Ops 4 to 8 could still be placed after the gap, but the earlier cut may have taken entries the
        // replica acknowledged that no suffix names: it gets the log up to the damage and the safe path.
        storage = directory.Open();
        Assert.Equal([new OpNumber(3)], storage.Health.CorruptEntries);
        var state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Empty(state.DamagedSuffix);
        Assert.Equal(new ulong[] { 1, 2 }, state.Entries.Select(e => e.Op.Value));
        storage.Dispose();
    }

    [Fact]
    public void A_corrupt_last_batch_that_was_synced_and_summarized_is_corruption_not_a_torn_write()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 4));
        storage.Persist(Appends(5, 6));

        // The log goes idle: the ring with the newest batch's summary is synced without any close.
        Assert.True(SpinWait.SpinUntil(() => storage.Statistics.SummarySyncs > 0, TimeSpan.FromSeconds(10)), "the batch ring was not synced when the log went idle");
        storage.Dispose();
        var (file, offset, _) = directory.EntryRecord(6);
        StorageDirectory.FlipByte(file, offset + StorageLayout.RecordHeaderSize + 3);
        var before = directory.Snapshot();
        storage = directory.Open();
        var health = storage.Health;
        Assert.True(health.LogCorrupt, health.ToString());
        Assert.Equal(0, health.TornRecords);
        Assert.Equal([new OpNumber(6)], health.CorruptEntries);
        Assert.Contains(health.Problems, p => p.Contains("batch ring", StringComparison.Ordinal) && p.Contains("ops 5 to 6", StringComparison.Ordinal));
        var state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5 }, state.Entries.Select(e => e.Op.Value));

        // Op 6's header survived, so storage places it as a gap after op 5; being the newest, nothing names
        // it (no successor's parent checksum), and the core takes a peer's log instead.
        Assert.Equal([null], state.DamagedSuffix);
        storage.Dispose();
        directory.AssertUnchangedSince(before);

        // The damage is voided durably; the replica's hard state keeps it repairing until a peer's log is in.
        storage = directory.Open();
        storage.Persist(Ready([Append(Entry(6, view: 2))], Hard(2, 2, 4) with { LogDamaged = true }));
        storage = directory.Reopen(storage);
        Assert.False(storage.Health.LogCorrupt, storage.Health.ToString());
        state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5, 6 }, state.Entries.Select(e => e.Op.Value));
        Assert.Equal(Entry(6, view: 2), state.Entries[^1]);
    }

    [Fact]
    public void A_summarized_last_batch_missing_entirely_is_corruption()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 4));
        storage.Persist(Appends(5, 6));
        storage.Dispose();

        // The newest batch's bytes read back as zeros (a lost write, or rot to zeros), which otherwise look like preallocated space.
        var (file, offset, _) = directory.EntryRecord(5);
        var length = new FileInfo(file).Length;
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.Position = offset;
            stream.Write(new byte[length - offset]);
        }

        storage = directory.Open();
        Assert.True(storage.Health.LogCorrupt, storage.Health.ToString());
        var state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, state.Entries.Select(e => e.Op.Value));
    }

    [Fact]
    public void A_batch_ring_from_another_replica_vouches_for_nothing()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 4));
        storage.Dispose();

        // A summary written with another replica's salt fails its checksum here; the log reads as it is.
        var ring = File.ReadAllBytes(directory.File(StorageLayout.BatchRingFileName));
        var forged = new BatchSummary(9, 1, 500, 1, 64, 100_000, 0, 1, 400);
        BatchRing.Encode(forged, StorageLayout.Salt(StorageDirectory.Cluster, new ReplicaIndex(2)), ring.AsSpan((int)(9 % BatchRing.Slots) * BatchRing.SlotSize, BatchRing.SlotSize));
        File.WriteAllBytes(directory.File(StorageLayout.BatchRingFileName), ring);
        storage = directory.Open();
        Assert.True(storage.Health.IsHealthy, storage.Health.ToString());
        Assert.Equal(4, storage.Load().Entries.Count);
    }

    [Fact]
    public void Garbage_after_the_last_record_is_cut()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 4));
        storage.Dispose();
        var segment = directory.Segments()[^1];
        var (_, lastOffset, lastHeader) = directory.Records()[^1];
        var logEnd = lastOffset + lastHeader.RecordLength;
        var length = new FileInfo(segment).Length; // the log and the zeros preallocated after it
        using (var stream = new FileStream(segment, FileMode.Append))
        {
            stream.Write(new byte[5000]);
            stream.Write(Enumerable.Range(0, 300).Select(i => (byte)i).ToArray());
        }

        storage = directory.Open();
        Assert.Equal(4, storage.Load().Entries.Count);
        Assert.Equal(length + 5300 - logEnd, storage.Health.TornBytes);
        storage.Persist(Appends(5, 5));
        Assert.Equal(logEnd, new FileInfo(segment).Length);
    }

    [Fact]
    public void Preallocated_zeros_after_the_log_are_free_space_not_a_torn_write()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        for (var op = 1UL; op <= 80; op += 2)
        {
            storage.Persist(Appends(op, op + 1, size: 100));
        }

        storage.Dispose();
        var bytes = File.ReadAllBytes(directory.Segments()[^1]);
        var last = directory.Records()[^1];
        var logEnd = (int)(last.Offset + last.Header.RecordLength);
        Assert.True(logEnd < bytes.Length, "the last segment has no preallocated tail");
        Assert.True(bytes.AsSpan(logEnd).IndexOfAnyExcept((byte)0) < 0);

        storage = directory.Open();
        Assert.True(storage.Health.IsHealthy, storage.Health.ToString());
        Assert.Equal(0, storage.Health.TornBytes);
        Assert.Empty(storage.Health.Problems);
        Assert.Equal(Enumerable.Range(1, 80).Select(i => (ulong)i), storage.Load().Entries.Select(e => e.Op.Value));
    }

    [Fact]
    public void Records_missing_before_a_preallocated_tail_are_caught_by_the_chain_into_the_next_segment()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open(segmentSize: 4096);
        for (var op = 1UL; op <= 40; op += 2)
        {
            storage.Persist(Appends(op, op + 1, size: 100));
        }

        storage.Dispose();
        var first = directory.Segments()[0];
        var (_, offset, header) = directory.Records().Last(r => r.File == first && r.Header.Type == RecordType.Entry);
        using (var stream = new FileStream(first, FileMode.Open))
        {
            // The first segment's last batch reads as zeros, exactly like space never written.
            stream.Position = offset;
            stream.Write(new byte[header.RecordLength]);
        }

        storage = directory.Open(segmentSize: 4096);
        Assert.True(storage.Health.LogCorrupt, storage.Health.ToString());
        Assert.True(storage.Load().Entries.Count < (int)header.Op.Value);
    }

    [Fact]
    public void A_corrupt_current_checkpoint_falls_back_to_the_previous_one_and_the_log_after_it()
    {
        using var directory = new StorageDirectory();
        WriteThirtyOpsWithCheckpointsAt10And20(directory);
        StorageDirectory.FlipByte(directory.File("checkpoint-00000000000000000020.ckpt"), StorageLayout.CheckpointHeaderSize + 10);

        var storage = directory.Open();
        Assert.Equal([new OpNumber(20)], storage.Health.CorruptCheckpoints);
        Assert.True(storage.Health.UsesPreviousCheckpoint);
        var state = storage.Load();
        Assert.Equal(Checkpoint(10).State.ToArray(), state.Checkpoint!.State.ToArray());
        Assert.Equal(Enumerable.Range(11, 20).Select(i => (ulong)i), state.Entries.Select(e => e.Op.Value));
        Assert.Equal(new OpNumber(30), state.LogHead);
    }

    [Fact]
    public void A_corrupt_checkpoint_without_a_previous_one_restarts_empty_and_damaged_and_a_fetched_copy_replaces_it()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 30));
        storage.Persist(Ready(hardState: Hard(3, 3, 30)));
        storage.Persist(Ready(checkpoint: Checkpoint(20), compactBefore: new OpNumber(18)));
        storage.Dispose();
        var file = directory.File("checkpoint-00000000000000000020.ckpt");
        StorageDirectory.FlipByte(file, 33);

        storage = directory.Open();
        Assert.Equal([new OpNumber(20)], storage.Health.CorruptCheckpoints);
        Assert.True(storage.Health.CheckpointLost);
        Assert.Contains(storage.Health.Problems, p => p.Contains("current checkpoint (op 20)", StringComparison.Ordinal) && p.Contains("restarts empty", StringComparison.Ordinal));
        var state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Null(state.Checkpoint);
        Assert.Empty(state.Entries);
        Assert.Equal(OpNumber.Zero, state.LogHead);
        Assert.Equal(Hard(3, 3, 30), state.HardState);

        // What the core then persists: the damage, a log reset to nothing; then a peer's checkpoint,
        // written under a temporary name and renamed over the corrupt file.
        storage.Persist(Ready([new LogChange(LogChangeKind.Reset, OpNumber.Zero, null)], hardState: Hard(3, 3, 0) with { LogDamaged = true }));
        storage = directory.Reopen(storage);
        Assert.True(storage.Health.CheckpointLost);
        Assert.True(storage.Load().LogDamaged);
        var fetched = Checkpoint(20);
        var builder = storage.Begin(new OpNumber(20));
        builder.Write(fetched.State.ToArray());
        Assert.True(File.Exists(file + ".tmp"));
        var built = builder.Build();
        storage.Persist(Ready([new LogChange(LogChangeKind.Reset, new OpNumber(20), null)], checkpoint: new Checkpoint(new OpNumber(20), built, fetched.Checksum)));
        Assert.False(File.Exists(file + ".tmp"));
        Assert.Equal(fetched.State.ToArray(), storage.Load().Checkpoint!.State.ToArray());

        storage = directory.Reopen(storage);
        Assert.Empty(storage.Health.CorruptCheckpoints);
        Assert.False(storage.Health.CheckpointLost);
        state = storage.Load();
        Assert.Equal(fetched.State.ToArray(), state.Checkpoint!.State.ToArray());
        Assert.True(state.LogDamaged); // until the core installs a peer's log and clears it
    }

    [Fact]
    public void A_deleted_checkpoint_file_is_reported_missing_and_the_replica_restarts_damaged_from_the_previous_one()
    {
        using var directory = new StorageDirectory();
        WriteThirtyOpsWithCheckpointsAt10And20(directory);
        File.Delete(directory.File("checkpoint-00000000000000000020.ckpt"));
        var (segment, offset, _) = directory.EntryRecord(12);
        StorageDirectory.FlipByte(segment, offset + StorageLayout.RecordHeaderSize + 3);

        var storage = directory.Open();
        Assert.Equal([new OpNumber(20)], storage.Health.CorruptCheckpoints);
        Assert.Contains(storage.Health.Problems, p => p.Contains("checkpoint-00000000000000000020.ckpt is missing", StringComparison.Ordinal));
        var state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Equal(new OpNumber(10), state.Checkpoint!.Op);
        Assert.All(state.Entries, e => Assert.True(e.Op.Value is > 10 and < 12));
    }

    [Fact]
    public void When_both_kept_checkpoints_are_corrupt_the_replica_restarts_empty_and_damaged()
    {
        using var directory = new StorageDirectory();
        WriteThirtyOpsWithCheckpointsAt10And20(directory);
        StorageDirectory.FlipByte(directory.File("checkpoint-00000000000000000020.ckpt"), StorageLayout.CheckpointHeaderSize + 3);
        StorageDirectory.FlipByte(directory.File("checkpoint-00000000000000000010.ckpt"), StorageLayout.CheckpointHeaderSize + 3);

        var storage = directory.Open();
        Assert.Equal([new OpNumber(20), new OpNumber(10)], storage.Health.CorruptCheckpoints);
        Assert.True(storage.Health.CheckpointLost);
        Assert.False(storage.Health.UsesPreviousCheckpoint);
        var state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Null(state.Checkpoint);
        Assert.Empty(state.Entries);
    }

    [Fact]
    public void A_corrupt_checkpoint_and_a_corrupt_entry_after_the_previous_one_restart_from_the_previous_one_damaged()
    {
        using var directory = new StorageDirectory();
        WriteThirtyOpsWithCheckpointsAt10And20(directory, segmentSize: 1024);
        var (segment, offset, _) = directory.EntryRecord(15);
        StorageDirectory.FlipByte(segment, offset + StorageLayout.RecordHeaderSize + 3);
        StorageDirectory.FlipByte(directory.File("checkpoint-00000000000000000020.ckpt"), StorageLayout.CheckpointHeaderSize + 3);

        var storage = directory.Open(segmentSize: 1024);
        Assert.True(storage.Health.LogCorrupt);
        Assert.True(storage.Health.UsesPreviousCheckpoint, storage.Health.ToString());
        var state = storage.Load();
        Assert.True(state.LogDamaged);
        Assert.Equal(new OpNumber(10), state.Checkpoint!.Op);
        Assert.Equal(Checkpoint(10).State.ToArray(), state.Checkpoint.State.ToArray());
        Assert.Equal(Enumerable.Range(11, 4).Select(i => (ulong)i), state.Entries.Select(e => e.Op.Value));
    }

    [Fact]
    public void A_missing_segment_in_the_middle_is_corruption()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open(segmentSize: 1024);
        for (var op = 1UL; op <= 40; op++)
        {
            storage.Persist(Appends(op, op, size: 100));
        }

        storage.Dispose();
        var segments = directory.Segments();
        Assert.True(segments.Length > 4);
        File.Delete(segments[2]);
        storage = directory.Open();
        Assert.True(storage.Health.LogCorrupt);
        Assert.Contains(storage.Health.Problems, p => p.Contains("missing", StringComparison.Ordinal));
        var entries = storage.Load().Entries;
        Assert.All(entries, e => Assert.Equal(Entry(e.Op.Value, size: 100), e));
        Assert.True(entries.Count < 40);
    }

    [Fact]
    public void A_segment_copied_from_another_replica_is_not_trusted()
    {
        using var directory = new StorageDirectory();
        using var other = new StorageDirectory(format: false);
        FileStorage.Format(other.Path, new StorageIdentity(StorageDirectory.Cluster, new ReplicaIndex(2), StorageDirectory.Configuration));
        using (var theirs = FileStorage.Open(other.Path, StorageDirectory.Cluster, new ReplicaIndex(2)))
        {
            theirs.Persist(Appends(1, 9, view: 7));
        }

        using (var ours = directory.Open())
        {
            ours.Persist(Appends(1, 3));
        }

        var segment = directory.Segments()[0];
        File.Copy(Directory.GetFiles(other.Path, "log-*.wal")[0], segment, overwrite: true);
        using var reopened = directory.Open();
        Assert.Contains(reopened.Health.Problems, p => p.Contains("belongs to cluster", StringComparison.Ordinal));
        Assert.DoesNotContain(reopened.Load().Entries, e => e.View == new View(7));
    }

    [Fact]
    public void The_views_survive_even_when_the_log_records_holding_them_are_damaged()
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open();
        storage.Persist(Appends(1, 3));
        storage.Persist(Ready(hardState: Hard(9, 8, 2)));
        storage.Persist(Appends(4, 6));
        storage.Dispose();
        var record = directory.Records().Single(r => r.Header.Type == RecordType.HardState);
        StorageDirectory.FlipByte(record.File, record.Offset + StorageLayout.RecordHeaderSize + 1);
        storage = directory.Open();
        Assert.True(storage.Health.LogCorrupt);
        var state = storage.Load();
        Assert.Equal(new View(9), state.HardState.View);
        Assert.Equal(new View(8), state.HardState.LogView);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void Random_damage_never_yields_wrong_data(ulong seed)
    {
        using var directory = new StorageDirectory();
        var storage = directory.Open(segmentSize: 4096);
        for (var op = 1UL; op <= 60; op += 3)
        {
            storage.Persist(Appends(op, op + 2, size: (int)(op % 50)));
        }

        storage.Dispose();
        var pristine = directory.Segments().ToDictionary(s => s, File.ReadAllBytes);
        var prng = new Prng(seed);
        for (var round = 0; round < 25; round++)
        {
            foreach (var (file, bytes) in pristine)
            {
                File.WriteAllBytes(file, bytes);
            }

            var victim = pristine.Keys.ElementAt((int)prng.Below((ulong)pristine.Count));
            var damage = prng.Below(3);
            var length = pristine[victim].Length;
            if (damage == 0)
            {
                StorageDirectory.FlipByte(victim, (long)prng.Below((ulong)length));
            }
            else if (damage == 1)
            {
                using var stream = new FileStream(victim, FileMode.Open);
                stream.SetLength((long)prng.Below((ulong)length));
            }
            else
            {
                var start = (long)prng.Below((ulong)length);
                using var stream = new FileStream(victim, FileMode.Open);
                stream.Position = start;
                stream.Write(new byte[Math.Min(200, length - start)]);
            }

            using var reopened = directory.Open(segmentSize: 4096);
            var entries = reopened.Load().Entries;
            for (var i = 0; i < entries.Count; i++)
            {
                Assert.Equal(Entry((ulong)i + 1, size: (int)((((ulong)i / 3 * 3) + 1) % 50)), entries[i]);
            }
        }
    }

    /// <summary>Ops 1 to 30 with checkpoints at 10 and 20 (the log before 18 reclaimed), then closed.</summary>
    private static void WriteThirtyOpsWithCheckpointsAt10And20(StorageDirectory directory, long segmentSize = 64 * 1024 * 1024)
    {
        var storage = directory.Open(segmentSize);
        storage.Persist(Appends(1, 30));
        storage.Persist(Ready(checkpoint: Checkpoint(10), compactBefore: new OpNumber(8)));
        storage.Persist(Ready(checkpoint: Checkpoint(20), compactBefore: new OpNumber(18)));
        storage.Dispose();
    }
}
