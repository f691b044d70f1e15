using Viewstamped.Simulation;
using static Viewstamped.Runtime.Tests.Storage.StorageTestData;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>The simulated disk's faults: they hurt only what was never synced, or are detected and reported.</summary>
public sealed class SimulatedDiskTests
{
    private static readonly DiskFaults Harsh = new()
    {
        LostWriteProbability = 0.5,
        TornWriteProbability = 0.5,
        ReadFlipProbability = 0.05,
        MisdirectedSuperblockWriteProbability = 0.3,
    };

    private static readonly DiskFaults LostWrites = DiskFaults.None with { LostNewestBatches = true };

    [Fact]
    public void Synced_data_survives_crashes_whatever_the_faults()
    {
        var disk = new SimulatedDisk(new Prng(1), Harsh with { LostWriteProbability = 1, TornWriteProbability = 1 });
        var reference = new MemoryStorage();
        foreach (var ready in RandomHistory(11, 120))
        {
            disk.Persist(ready);
            reference.Persist(ready);
            disk.Crash();
            AssertSameState(reference.Load(), disk.Load());
        }
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    public void A_crash_before_sync_loses_the_whole_unsynced_ready_or_keeps_all_of_it(ulong seed)
    {
        var disk = new SimulatedDisk(new Prng(seed), Harsh with { LostWriteProbability = 0.3, TornWriteProbability = 0.2 });
        var synced = new MemoryStorage();
        var lost = 0;
        var kept = 0;
        var uncertain = 0;
        var prng = new Prng(seed * 977);
        foreach (var ready in RandomHistory(seed, 200))
        {
            if (ready.LogChanges.Count > 0 && prng.Chance(0.3))
            {
                // Power fails after the write and before the sync: the Ready was never acknowledged.
                disk.Write(ready);
                disk.Crash();
                var state = disk.Load();

                // A torn tail may have been an acknowledged batch that rotted: the load says so, and keeps saying
                // so until a hard state without the flag is persisted. The rest is exactly what was synced.
                Assert.True(disk.Health.TornRecords == 0 || state.TailUncertain, "a torn cut did not report an uncertain tail");
                uncertain += disk.Health.TornRecords > 0 ? 1 : 0;
                state = Certain(state);
                var before = synced.Load();
                synced.Persist(ready);
                var after = synced.Load();
                if (SameState(after, state))
                {
                    kept++;
                }
                else
                {
                    AssertSameState(before, state, "lost");
                    lost++;
                    disk.Persist(ready);
                }

                AssertSameState(synced.Load(), Certain(disk.Load()), "after");
            }
            else
            {
                disk.Persist(ready);
                synced.Persist(ready);
            }
        }

        Assert.True(lost > 0, "no unsynced ready was lost");
        Assert.True(kept > 0, "no unsynced ready survived");
        Assert.True(uncertain > 0, "no crash left a torn tail");
        Assert.True(disk.Statistics.LostWrites + disk.Statistics.TornWrites > 0);
    }

    [Fact]
    public void Bit_flips_on_read_are_caught_and_read_again()
    {
        var disk = new SimulatedDisk(new Prng(3), DiskFaults.None with { ReadFlipProbability = 0.3 });
        var reference = new MemoryStorage();
        foreach (var ready in RandomHistory(5, 80))
        {
            disk.Persist(ready);
            reference.Persist(ready);
        }

        AssertSameState(reference.Load(), disk.Load());
        Assert.True(disk.Statistics.ReadRetries > 0);
        Assert.False(disk.Health.LogCorrupt);
    }

    [Fact]
    public void Misdirected_superblock_writes_are_outvoted()
    {
        var disk = new SimulatedDisk(new Prng(4), DiskFaults.None with { MisdirectedSuperblockWriteProbability = 1 });
        var reference = new MemoryStorage();
        for (var view = 1UL; view <= 20; view++)
        {
            var ready = Ready([Append(Entry(view, view))], Hard(view, view, view - 1));
            disk.Persist(ready);
            reference.Persist(ready);
            disk.Crash();
            AssertSameState(reference.Load(), disk.Load());
            Assert.True(disk.Health.SuperblockCopiesValid is >= 2 and < 4);
        }

        Assert.Equal(20, disk.Statistics.MisdirectedWrites);
    }

    [Fact]
    public void Latent_corruption_is_detected_reported_and_never_returned()
    {
        var disk = new SimulatedDisk(new Prng(5), DiskFaults.None);
        var reference = new MemoryStorage();
        for (var op = 1UL; op <= 30; op++)
        {
            var ready = Ready([Append(Entry(op))], Hard(1, 1, op));
            disk.Persist(ready);
            reference.Persist(ready);
        }

        var index = disk.InjectLatentCorruption();
        var state = disk.Load();
        Assert.True(disk.Health.LogCorrupt, string.Join("; ", disk.Health.Problems));
        var expected = reference.Load().Entries;
        Assert.True(state.Entries.Count < expected.Count);
        Assert.Equal(expected.Take(state.Entries.Count), state.Entries);
        Assert.NotEmpty(disk.Health.EntriesAfterCorruption);
        Assert.True(state.LogDamaged);
        _ = index;

        // The cut is durable, and so is the damage: a load before the replica repaired its log finds
        // nothing wrong on disk and still says the log lacks acknowledged entries.
        var reloaded = disk.Load();
        Assert.False(disk.Health.LogCorrupt);
        Assert.True(reloaded.LogDamaged);
        Assert.True(reloaded.HardState.LogDamaged);

        // The log continues after the cut; the replica's hard state says when it is repaired.
        var next = state.LogHead.Next;
        disk.Persist(Ready([Append(Entry(next.Value, view: 2))], Hard(2, 2, state.LogHead.Value)));
        var repaired = disk.Load();
        Assert.Equal(Entry(next.Value, view: 2), repaired.Entries[^1]);
        Assert.False(disk.Health.LogCorrupt);
        Assert.False(repaired.LogDamaged);
    }

    [Fact]
    public void A_rotten_newest_batch_is_corruption_once_its_summary_is_durable()
    {
        var disk = new SimulatedDisk(new Prng(3), DiskFaults.None);
        disk.Persist(Ready([Append(Entry(1)), Append(Entry(2))], Hard(1, 1, 0)));
        disk.Persist(Ready([Append(Entry(3)), Append(Entry(4))], Hard(1, 1, 2)));
        Assert.True(disk.HasUnsyncedSummary);

        disk.SyncSummaries();
        Assert.False(disk.HasUnsyncedSummary);
        Assert.InRange(disk.InjectLatentCorruption(newestBatch: true), disk.BlockCount - 3, disk.BlockCount - 1);

        // The newest batch rotted after its summary was durable: a load reports corruption, never a torn write.
        Assert.Equal(new OpNumber(4), disk.SyncedLog().LogHead);
        disk.Crash();
        var state = disk.Load();
        Assert.True(disk.Health.LogCorrupt, string.Join("; ", disk.Health.Problems));
        Assert.Equal(0, disk.Health.TornRecords);
        Assert.True(state.LogDamaged);
        Assert.Equal(Enumerable.Range(1, state.Entries.Count).Select(op => Entry((ulong)op)), state.Entries);
    }

    [Fact]
    public void A_torn_tail_is_reported_uncertain_until_a_hard_state_without_the_flag_is_persisted()
    {
        var disk = new SimulatedDisk(new Prng(5), DiskFaults.None with { LostWriteProbability = 0, TornWriteProbability = 1 });
        disk.Persist(Ready([Append(Entry(1)), Append(Entry(2))], Hard(1, 1, 0)));
        disk.Write(Ready([Append(Entry(3)), Append(Entry(4))], Hard(1, 1, 2)));
        disk.Crash();
        var state = disk.Load();
        Assert.True(disk.Health.TornRecords > 0);
        Assert.True(state.TailUncertain);
        Assert.True(state.HardState.TailUncertain);
        Assert.Equal(new OpNumber(2), state.LogHead);

        // The cut left nothing to find again, yet a second crash and load still say so: the flag is durable.
        disk.Persist(Ready([Append(Entry(3, view: 2))]));
        disk.Crash();
        state = disk.Load();
        Assert.Equal(0, disk.Health.TornRecords);
        Assert.True(state.TailUncertain);

        // The replica installed a peer's log and persisted its hard state without the flag.
        disk.Persist(Ready([], Hard(2, 2, 3)));
        disk.Crash();
        Assert.False(disk.Load().TailUncertain);
    }

    [Fact]
    public void A_summary_not_yet_synced_is_lost_in_a_crash()
    {
        var disk = new SimulatedDisk(new Prng(3), DiskFaults.None);
        disk.Persist(Ready([Append(Entry(1))], Hard(1, 1, 0)));
        disk.SyncSummaries();
        disk.Persist(Ready([Append(Entry(2))], Hard(1, 1, 1)));
        Assert.True(disk.HasUnsyncedSummary);
        disk.Crash();
        Assert.False(disk.HasUnsyncedSummary);

        // The batch itself was synced and stays; only the proof that it was complete went. Rot then reads as a
        // torn write: the load cuts the batch and reports an uncertain tail, and the disk counts as damaged
        // until it holds op 2 again.
        Assert.Equal(new OpNumber(2), disk.Load().LogHead);
        Assert.True(disk.InjectLatentCorruption(newestBatch: true) >= 0);
        var state = disk.Load();
        Assert.Equal(new OpNumber(1), state.LogHead);
        Assert.True(state.TailUncertain);
        Assert.False(state.LogDamaged);
        Assert.Equal(1, disk.Statistics.RottenTailsCut);
        Assert.True(disk.IsDamaged);
        disk.Persist(Ready([Append(Entry(2, view: 2))], Hard(2, 2, 2)));
        Assert.False(disk.IsDamaged);
    }

    [Fact]
    public void A_newest_batch_lost_whole_after_an_idle_ring_sync_leaves_an_uncertain_tail_and_a_damaged_disk()
    {
        var disk = new SimulatedDisk(new Prng(3), LostWrites);
        disk.Persist(Ready([Append(Entry(1)), Append(Entry(2))], Hard(1, 1, 0)));
        disk.SyncSummaries();
        disk.Persist(Ready([Append(Entry(3)), Append(Entry(4))], Hard(1, 1, 2)));

        // Acknowledged, then lost at the power loss along with its summary: the ring vouches exactly for what is left.
        Assert.True(disk.LoseNewestBatch());
        Assert.True(disk.IsDamaged);
        disk.Crash();
        var state = disk.Load();
        Assert.Equal(new OpNumber(2), state.LogHead);
        Assert.False(state.LogDamaged);
        Assert.True(state.TailUncertain);
        Assert.Equal(1, disk.Statistics.LostNewestBatches);

        // Damaged until it holds op 4 again (a peer's log); a power loss cannot lose what the load already read.
        Assert.True(disk.IsDamaged);
        Assert.False(disk.LoseNewestBatch());
        disk.Persist(Ready([Append(Entry(3, view: 2)), Append(Entry(4, view: 2))], Hard(2, 2, 4)));
        Assert.False(disk.IsDamaged);
    }

    [Fact]
    public void A_newest_batch_lost_whole_after_its_summary_was_synced_is_corruption()
    {
        var disk = new SimulatedDisk(new Prng(3), LostWrites);
        disk.Persist(Ready([Append(Entry(1)), Append(Entry(2))], Hard(1, 1, 0)));
        disk.Persist(Ready([Append(Entry(3))], Hard(1, 1, 2)));
        disk.SyncSummaries();
        Assert.True(disk.LoseNewestBatch());
        disk.Crash();
        var state = disk.Load();
        Assert.True(disk.Health.LogCorrupt, string.Join("; ", disk.Health.Problems));
        Assert.True(state.LogDamaged);
        Assert.Equal(new OpNumber(2), state.LogHead);
    }

    [Fact]
    public void After_a_power_loss_the_tail_is_uncertain_unless_the_disk_was_closed_cleanly_and_a_process_crash_keeps_it_certain()
    {
        var disk = new SimulatedDisk(new Prng(3), LostWrites);
        Assert.False(disk.Load().TailUncertain);
        disk.Persist(Ready([Append(Entry(1))], Hard(1, 1, 0)));
        disk.SyncSummaries();

        // The process dies mid-sync: the page cache keeps the batch, and within the boot nothing is doubted.
        disk.Write(Ready([Append(Entry(2))], Hard(1, 1, 1)));
        disk.BeginSync();
        disk.CrashProcess();
        var state = disk.Load();
        Assert.False(state.TailUncertain);
        Assert.Equal(new OpNumber(2), state.LogHead);

        // A clean close vouches for the log's end across a power loss.
        disk.Close();
        disk.Crash();
        Assert.False(disk.Load().TailUncertain);

        // Written since, without a close: a batch lost whole would not show, so the tail is uncertain.
        disk.Persist(Ready([Append(Entry(3))], Hard(1, 1, 2)));
        disk.SyncSummaries();
        disk.Crash();
        state = disk.Load();
        Assert.True(state.TailUncertain);
        Assert.Equal(new OpNumber(3), state.LogHead);

        // A disk that cannot lose a synced batch has nothing to doubt.
        var faithful = new SimulatedDisk(new Prng(3), DiskFaults.None);
        faithful.Persist(Ready([Append(Entry(1))], Hard(1, 1, 0)));
        faithful.Crash();
        Assert.False(faithful.Load().TailUncertain);
    }

    [Fact]
    public void A_latent_flip_in_the_checkpoint_is_detected_and_the_replica_restarts_empty_and_damaged_with_its_views()
    {
        var disk = new SimulatedDisk(new Prng(7), DiskFaults.None);
        Assert.False(disk.InjectCheckpointCorruption());
        disk.Persist(Appends(1, 30));
        disk.Persist(Ready(hardState: Hard(3, 3, 30), checkpoint: Checkpoint(20), compactBefore: new OpNumber(18)));
        disk.Persist(Ready(hardState: Hard(4, 3, 30)));
        Assert.False(disk.IsDamaged);

        Assert.True(disk.InjectCheckpointCorruption());
        Assert.True(disk.IsDamaged);
        var state = disk.Load();
        Assert.Equal([new OpNumber(20)], disk.Health.CorruptCheckpoints);
        Assert.True(state.LogDamaged);
        Assert.Null(state.Checkpoint);
        Assert.Empty(state.Entries);
        Assert.Equal(OpNumber.Zero, state.LogHead);
        Assert.Equal((new View(4), new View(3)), (state.HardState.View, state.HardState.LogView));

        // Durable: a second load finds no checkpoint named, and still the damage.
        var reloaded = disk.Load();
        Assert.True(reloaded.LogDamaged);
        Assert.Null(reloaded.Checkpoint);
        Assert.Empty(reloaded.Entries);

        // A checkpoint fetched from a peer replaces the file; the repaired hard state ends the damage.
        disk.Persist(Ready([new LogChange(LogChangeKind.Reset, new OpNumber(20), null)], Hard(4, 4, 20), Checkpoint(20)));
        Assert.False(disk.IsDamaged);
        var repaired = disk.Load();
        Assert.False(repaired.LogDamaged);
        Assert.Equal(Checkpoint(20).State.ToArray(), repaired.Checkpoint!.State.ToArray());
    }

    [Fact]
    public void Compaction_rewrites_keep_the_log_small_and_the_state_intact()
    {
        var disk = new SimulatedDisk(new Prng(6), DiskFaults.None);
        var reference = new MemoryStorage();
        for (var round = 1UL; round <= 20; round++)
        {
            foreach (var ready in new[]
            {
                Appends(((round - 1) * 50) + 1, round * 50),
                Ready(hardState: Hard(round, round, round * 50)),
                Ready(checkpoint: Checkpoint(round * 50), compactBefore: new OpNumber((round * 50) - 9)),
            })
            {
                disk.Persist(ready);
                reference.Persist(ready);
            }
        }

        Assert.True(disk.Statistics.Compactions > 0);
        Assert.True(disk.BlockCount < 200, $"{disk.BlockCount} blocks");
        disk.Crash();
        AssertSameState(reference.Load(), disk.Load());
    }

    [Fact]
    public void Latency_is_drawn_per_sync_when_enabled()
    {
        var disk = new SimulatedDisk(new Prng(8), DiskFaults.None with { SyncLatencyTicksMax = 5 });
        var seen = new HashSet<int>();
        for (var op = 1UL; op <= 50; op++)
        {
            disk.Persist(Appends(op, op));
            seen.Add(disk.LastSyncTicks);
        }

        Assert.All(seen, ticks => Assert.InRange(ticks, 0, 5));
        Assert.True(seen.Count > 2);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    public void A_crash_during_a_sync_keeps_all_or_nothing_of_its_batch_and_loses_what_waited_for_the_next(ulong seed)
    {
        var outcomes = new HashSet<string>();
        for (var round = 0UL; round < 40; round++)
        {
            var disk = new SimulatedDisk(new Prng((seed * 1000) + round), Harsh with { LostWriteProbability = 0.2, TornWriteProbability = 0.2 });
            disk.Persist(Appends(1, 3));
            disk.Write(Appends(4, 5));
            disk.Write(Ready(hardState: Hard(1, 1, 3)));
            Assert.True(disk.BeginSync() >= 0);
            Assert.True(disk.SyncInProgress);

            // Written during the sync: it waits for the next one, and a crash loses it whole.
            disk.Write(Appends(6, 6));
            disk.Crash();
            var state = disk.Load();
            Assert.False(disk.Health.LogCorrupt, string.Join("; ", disk.Health.Problems));
            var head = state.LogHead.Value;
            Assert.True(head is 3 or 5, $"log head {head}");
            Assert.Equal(head == 5 ? 1UL : 0UL, state.HardState.View.Value);
            outcomes.Add($"{head}");
        }

        Assert.Equal(2, outcomes.Count);
    }

    [Fact]
    public void A_sync_covers_what_was_written_before_it_began_and_nothing_after()
    {
        var disk = new SimulatedDisk(new Prng(9), DiskFaults.None with { LostWriteProbability = 1, SyncLatencyTicksMax = 3 });
        disk.Write(Appends(1, 2));
        var ticks = disk.BeginSync();
        Assert.InRange(ticks, 0, 3);
        disk.Write(Appends(3, 3));
        disk.CompleteSync();
        Assert.True(disk.HasUnsyncedWrites);
        disk.Crash();
        Assert.Equal(2UL, disk.Load().LogHead.Value);

        disk.Write(Appends(3, 4));
        disk.BeginSync();
        disk.CompleteSync();
        Assert.False(disk.HasUnsyncedWrites);
        disk.Crash();
        Assert.Equal(4UL, disk.Load().LogHead.Value);
    }

    [Fact]
    public void The_disk_keeps_no_reference_to_a_ready_it_was_given()
    {
        var disk = new SimulatedDisk(new Prng(10), DiskFaults.None);
        var ready = Appends(1, 2);
        disk.Write(ready);
        ready.LogChanges.Clear();
        disk.Sync();
        Assert.Equal(2UL, disk.Load().LogHead.Value);
    }

    [Fact]
    public void A_checkpoint_written_during_a_sync_survives_that_sync()
    {
        var disk = new SimulatedDisk(new Prng(11), DiskFaults.None);
        disk.Persist(Appends(1, 8));
        disk.Write(Ready(hardState: Hard(1, 1, 8)));
        disk.BeginSync();
        disk.Write(Ready(checkpoint: Checkpoint(8), compactBefore: new OpNumber(5)));

        // The sync in progress changes the superblock, which deletes checkpoint files no longer needed.
        disk.CompleteSync();
        disk.Sync();
        disk.Crash();
        Assert.Equal(8UL, disk.Load().Checkpoint!.Op.Value);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    [InlineData(5UL)]
    public void A_superblock_copy_torn_by_a_power_failure_is_outvoted(ulong seed)
    {
        var disk = new SimulatedDisk(new Prng(seed), DiskFaults.None with { TornWriteProbability = 1 });
        disk.Persist(Appends(1, 3));
        disk.Write(Ready(hardState: Hard(2, 2, 3)));
        disk.BeginSync();
        disk.Crash();

        var state = disk.Load();
        Assert.Equal(Hard(2, 2, 3), state.HardState);
        Assert.Equal(3UL, state.LogHead.Value);
        Assert.False(disk.Health.LogCorrupt, string.Join("; ", disk.Health.Problems));
        Assert.InRange(disk.Health.SuperblockCopiesValid, 1, 3);
        Assert.Equal(1, disk.Statistics.TornWrites);
    }
}
