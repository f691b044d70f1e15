using Viewstamped.Runtime.Storage;
using static Viewstamped.Runtime.Tests.Storage.StorageTestData;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>
/// A newest batch lost whole (the disk acknowledged its fdatasync but never wrote it, seen after a power
/// loss dropped the page cache) reads as zeros, like unused space. The storage cannot see it, so it says
/// the tail is uncertain whenever the page cache may have been lost since the log was last written.
/// </summary>
public sealed class FileStorageLostWriteTests
{
    private static readonly Guid BootBefore = new("0b00d1d0-0000-4000-8000-000000000001");
    private static readonly Guid BootAfter = new("0b00d1d0-0000-4000-8000-000000000002");

    [Fact]
    public void A_newest_batch_lost_whole_after_the_ring_was_synced_leaves_an_uncertain_tail_after_a_reboot()
    {
        using var directory = new StorageDirectory();
        var storage = Open(directory, BootBefore);
        storage.Persist(Appends(1, 4));
        WaitForRingSync(storage);

        // Acknowledged, then the power fails before the ring's next sync: the batch never landed, its summary is gone.
        storage.Persist(Appends(5, 6));
        storage.Dispose();
        LosePower(directory, newestBatchFrom: 5);

        // Nothing on disk shows ops 5 and 6 (the ring vouches exactly for the log that is left); only the reboot does.
        storage = Open(directory, BootAfter);
        var state = storage.Load();
        Assert.True(state.TailUncertain);
        Assert.False(state.LogDamaged);
        Assert.Equal(new ulong[] { 1, 2, 3, 4 }, state.Entries.Select(e => e.Op.Value));
        Assert.Contains(storage.Health.Problems, p => p.Contains("restarted", StringComparison.Ordinal));
    }

    [Fact]
    public void Within_the_same_boot_the_ring_vouches_for_every_acknowledged_batch_and_the_tail_is_certain()
    {
        using var directory = new StorageDirectory();
        var storage = Open(directory, BootBefore);
        storage.Persist(Appends(1, 4));
        storage.Persist(Appends(5, 6));
        storage.Dispose();

        // A killed process: the page cache kept the log and every summary, but there was no clean close.
        directory.ForgetCleanClose();
        storage = Open(directory, BootBefore);
        var state = storage.Load();
        Assert.False(state.TailUncertain);
        Assert.True(storage.Health.IsHealthy, storage.Health.ToString());
        Assert.Equal(6, state.Entries.Count);
    }

    [Fact]
    public void A_clean_close_vouches_for_its_last_record_across_a_reboot_and_only_for_it()
    {
        using var directory = new StorageDirectory();
        var storage = Open(directory, BootBefore);
        storage.Persist(Appends(1, 4));
        storage.Persist(Appends(5, 6));
        storage.Dispose();

        storage = Open(directory, BootAfter);
        Assert.False(storage.Load().TailUncertain);
        Assert.True(storage.Health.IsHealthy, storage.Health.ToString());

        // Opening without writing leaves the mark alone; writing clears it first, so the next close must set it again.
        storage.Dispose();
        storage = Open(directory, BootBefore);
        Assert.False(storage.Load().TailUncertain);
        storage.Persist(Appends(7, 8));
        storage.Dispose();
        LosePower(directory, newestBatchFrom: 7);
        storage = Open(directory, BootAfter);
        Assert.True(storage.Load().TailUncertain);
        Assert.Equal(new OpNumber(6), storage.Load().LogHead);
    }

    [Fact]
    public void The_uncertain_tail_is_recorded_before_the_new_boot_so_a_later_crash_in_that_boot_keeps_it()
    {
        using var directory = new StorageDirectory();
        var storage = Open(directory, BootBefore);
        storage.Persist(Appends(1, 4));
        storage.Dispose();
        directory.ForgetCleanClose();

        storage = Open(directory, BootAfter);
        Assert.True(storage.Load().TailUncertain);

        // The first write records the new boot; the same superblock update keeps the flag, so a process
        // crash within this boot (no reboot left to notice) reopens uncertain still.
        storage.Persist(Appends(5, 5, view: 2));
        storage.Dispose();
        directory.ForgetCleanClose();
        storage = Open(directory, BootAfter);
        Assert.True(storage.Load().TailUncertain);

        // A hard state without the flag (the replica installed a peer's log) clears it.
        storage.Persist(Ready(hardState: Hard(2, 2, 5)));
        storage.Dispose();
        directory.ForgetCleanClose();
        storage = Open(directory, BootAfter);
        Assert.False(storage.Load().TailUncertain);
    }

    [Fact]
    public void Without_boot_ids_a_log_running_past_its_durable_summaries_has_an_uncertain_tail()
    {
        using var directory = new StorageDirectory();
        var storage = Open(directory, boot: null);
        storage.Persist(Appends(1, 4));
        storage.Persist(Appends(5, 6));
        storage.Dispose();

        // Neither summary reached the disk before the power failed, and the newest batch never landed:
        // batch 1 is there without its summary, so the page cache was lost, with whatever followed.
        LosePower(directory, newestBatchFrom: 5);
        directory.ForgetNewestSummary();
        storage = Open(directory, boot: null);
        Assert.True(storage.Load().TailUncertain);
        Assert.Contains(storage.Health.Problems, p => p.Contains("vouch", StringComparison.Ordinal));
        storage.Dispose();

        // A log the ring vouches for to its end is certain.
        using var other = new StorageDirectory();
        storage = Open(other, boot: null);
        storage.Persist(Appends(1, 4));
        storage.Dispose();
        other.ForgetCleanClose();
        storage = Open(other, boot: null);
        Assert.False(storage.Load().TailUncertain);
    }

    [Fact]
    public void A_directory_written_before_boot_ids_opens_and_records_one_at_its_first_write()
    {
        using var directory = new StorageDirectory();
        var storage = Open(directory, BootBefore);
        storage.Persist(Appends(1, 4));
        storage.Dispose();

        // An older build left bytes 232 to 255 and the clean-close flag zero.
        for (var copy = 0; copy < StorageLayout.SuperblockCopies; copy++)
        {
            directory.EditSuperblockCopy(copy, slot =>
            {
                slot.AsSpan(232, 24).Clear();
                slot[50] &= unchecked((byte)~4);
            });
        }

        storage = Open(directory, BootAfter);
        Assert.False(storage.Load().TailUncertain);
        Assert.Equal(4, storage.Load().Entries.Count);

        // From its first write on it knows its boot: a reboot without a clean close is seen.
        storage.Persist(Appends(5, 5));
        storage.Dispose();
        directory.ForgetCleanClose();
        storage = Open(directory, BootBefore);
        Assert.True(storage.Load().TailUncertain);
    }

    private static FileStorage Open(StorageDirectory directory, Guid? boot) => directory.Open(new FileStorageOptions { BootId = boot });

    private static void WaitForRingSync(FileStorage storage) =>
        Assert.True(SpinWait.SpinUntil(() => storage.Statistics.SummarySyncs > 0, TimeSpan.FromSeconds(10)), "the batch ring was not synced when the log went idle");

    /// <summary>
    /// What a power cut leaves after the newest batch (from the entry of <paramref name="newestBatchFrom"/>)
    /// was acknowledged but never landed: its bytes read as zeros, its summary was not synced, and the
    /// storage was never closed.
    /// </summary>
    private static void LosePower(StorageDirectory directory, ulong newestBatchFrom)
    {
        var (file, offset, _) = directory.EntryRecord(newestBatchFrom);
        directory.ForgetNewestSummary();
        StorageDirectory.ZeroFrom(file, offset);
        directory.ForgetCleanClose();
    }
}
