using Viewstamped.Runtime.Storage;
using Viewstamped.Simulation;
using static Viewstamped.Runtime.Tests.Storage.StorageTestData;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>
/// The <see cref="IReplicaStorage"/> contract, with <see cref="MemoryStorage"/> as the reference: every
/// implementation must return exactly what it would, across restarts. Subclasses supply the storage.
/// </summary>
public abstract class StorageContractTests : IDisposable
{
    /// <summary>A fresh, empty storage.</summary>
    protected abstract IReplicaStorage Create();

    /// <summary>Simulates a process restart (close and reopen, or a crash with nothing unsynced); returns the storage to use after it.</summary>
    protected virtual IReplicaStorage Restart(IReplicaStorage storage) => storage;

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the subclass created.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    [Fact]
    public void A_fresh_storage_is_empty()
    {
        var state = Create().Load();
        Assert.Equal(default, state.HardState);
        Assert.Null(state.Checkpoint);
        Assert.Empty(state.Entries);
        Assert.Equal(OpNumber.Zero, state.LogHead);
    }

    [Fact]
    public void Appends_come_back_in_order_with_their_contents()
    {
        var storage = Create();
        storage.Persist(Appends(1, 3));
        storage.Persist(Appends(4, 10, view: 2, size: 1000));
        var state = Restart(storage).Load();
        Assert.Equal(Enumerable.Range(1, 10).Select(i => (ulong)i), state.Entries.Select(e => e.Op.Value));
        Assert.Equal(Entry(7, 2, 1000), state.Entries[6]);
        Assert.Equal(new OpNumber(10), state.LogHead);
    }

    [Fact]
    public void The_latest_hard_state_wins()
    {
        var storage = Create();
        storage.Persist(Ready(hardState: Hard(1, 1, 0)));
        storage.Persist(Ready(hardState: Hard(3, 2, 5)));
        storage.Persist(Appends(1, 2));
        Assert.Equal(Hard(3, 2, 5), Restart(storage).Load().HardState);
    }

    [Fact]
    public void TruncateAfter_drops_later_entries_and_lowers_the_head()
    {
        var storage = Create();
        storage.Persist(Appends(1, 8));
        storage.Persist(Ready([TruncateAfter(5)]));
        storage = Restart(storage);
        var state = storage.Load();
        Assert.Equal(new OpNumber(5), state.LogHead);
        Assert.Equal(5, state.Entries.Count);
        storage.Persist(Ready([Append(Entry(6, view: 9))]));
        Assert.Equal(Entry(6, view: 9), Restart(storage).Load().Entries[^1]);
    }

    [Fact]
    public void TruncateAfter_beyond_the_head_changes_nothing()
    {
        var storage = Create();
        storage.Persist(Appends(1, 3));
        storage.Persist(Ready([TruncateAfter(10)]));
        var state = Restart(storage).Load();
        Assert.Equal(new OpNumber(3), state.LogHead);
        Assert.Equal(3, state.Entries.Count);
    }

    [Fact]
    public void Reset_empties_the_log_and_moves_the_head()
    {
        var storage = Create();
        storage.Persist(Appends(1, 4));
        storage.Persist(Ready([Reset(20)], checkpoint: Checkpoint(20)));
        storage = Restart(storage);
        var state = storage.Load();
        Assert.Empty(state.Entries);
        Assert.Equal(new OpNumber(20), state.LogHead);
        storage.Persist(Appends(21, 22));
        state = Restart(storage).Load();
        Assert.Equal(new ulong[] { 21, 22 }, state.Entries.Select(e => e.Op.Value));
        Assert.Equal(new OpNumber(20), state.Checkpoint!.Op);
    }

    [Fact]
    public void A_reset_below_the_head_then_appends_replace_the_old_entries()
    {
        var storage = Create();
        storage.Persist(Appends(1, 10));
        storage.Persist(Ready([Reset(3), Append(Entry(4, view: 5))]));
        var state = Restart(storage).Load();
        Assert.Equal([Entry(4, view: 5)], state.Entries);
        Assert.Equal(new OpNumber(4), state.LogHead);
    }

    [Fact]
    public void A_checkpoint_and_compaction_keep_the_head()
    {
        var storage = Create();
        storage.Persist(Appends(1, 10));
        storage.Persist(Ready(checkpoint: Checkpoint(8), compactBefore: new OpNumber(6)));
        var state = Restart(storage).Load();
        Assert.Equal(new OpNumber(8), state.Checkpoint!.Op);
        Assert.Equal(Checkpoint(8).State.ToArray(), state.Checkpoint.State.ToArray());
        Assert.Equal(new ulong[] { 6, 7, 8, 9, 10 }, state.Entries.Select(e => e.Op.Value));
        Assert.Equal(new OpNumber(10), state.LogHead);
    }

    [Fact]
    public void Compaction_beyond_the_head_empties_the_log_but_keeps_the_head()
    {
        var storage = Create();
        storage.Persist(Appends(1, 4));
        storage.Persist(Ready(compactBefore: new OpNumber(9)));
        var state = Restart(storage).Load();
        Assert.Empty(state.Entries);
        Assert.Equal(new OpNumber(4), state.LogHead);
    }

    [Fact]
    public void The_latest_checkpoint_wins()
    {
        var storage = Create();
        storage.Persist(Appends(1, 30));
        storage.Persist(Ready(checkpoint: Checkpoint(10), compactBefore: new OpNumber(5)));
        storage.Persist(Ready(checkpoint: Checkpoint(20), compactBefore: new OpNumber(15)));
        storage.Persist(Ready(checkpoint: Checkpoint(30, size: 5000), compactBefore: new OpNumber(25)));
        var state = Restart(storage).Load();
        Assert.Equal(Checkpoint(30, size: 5000).State.ToArray(), state.Checkpoint!.State.ToArray());
        Assert.Equal(25UL, state.Entries[0].Op.Value);
    }

    [Fact]
    public void One_ready_applies_changes_then_hard_state_then_checkpoint_then_compaction()
    {
        var storage = Create();
        storage.Persist(Appends(1, 5));
        storage.Persist(Ready(
            [Append(Entry(6)), TruncateAfter(4), Append(Entry(5, view: 2)), Append(Entry(6, view: 2))],
            Hard(2, 2, 6),
            Checkpoint(6),
            new OpNumber(3)));
        var state = Restart(storage).Load();
        Assert.Equal(new ulong[] { 3, 4, 5, 6 }, state.Entries.Select(e => e.Op.Value));
        Assert.Equal(Entry(5, view: 2), state.Entries[2]);
        Assert.Equal(Hard(2, 2, 6), state.HardState);
        Assert.Equal(new OpNumber(6), state.Checkpoint!.Op);
    }

    [Fact]
    public void Load_returns_a_copy_that_later_writes_do_not_change()
    {
        var storage = Create();
        storage.Persist(Appends(1, 3));
        var before = storage.Load();
        storage.Persist(Appends(4, 5));
        Assert.Equal(3, before.Entries.Count);
        Assert.Equal(5, storage.Load().Entries.Count);
    }

    [Fact]
    public void An_append_that_does_not_follow_the_head_is_refused()
    {
        var storage = Create();
        storage.Persist(Appends(1, 3));
        Assert.Throws<InvariantViolationException>(() => storage.Persist(Appends(5, 5)));
        Assert.Equal(new OpNumber(3), storage.Load().LogHead);
    }

    [Fact]
    public void An_empty_ready_changes_nothing()
    {
        var storage = Create();
        storage.Persist(Appends(1, 2));
        storage.Persist(Ready());
        Assert.Equal(2, Restart(storage).Load().Entries.Count);
    }

    [Theory]
    [InlineData(1UL)]
    [InlineData(2UL)]
    [InlineData(3UL)]
    [InlineData(4UL)]
    public void Random_histories_match_memory_storage_across_restarts(ulong seed)
    {
        var reference = new MemoryStorage();
        var storage = Create();
        var restarts = new Prng(seed ^ 0xABCD);
        var step = 0;
        foreach (var ready in RandomHistory(seed, 150))
        {
            reference.Persist(ready);
            storage.Persist(ready);
            if (restarts.Chance(0.1))
            {
                storage = Restart(storage);
            }

            AssertSameState(reference.Load(), storage.Load(), $"seed {seed} step {step}");
            step++;
        }
    }
}

/// <summary>The contract against the reference itself, to keep the suite honest.</summary>
public sealed class MemoryStorageContractTests : StorageContractTests
{
    /// <inheritdoc />
    protected override IReplicaStorage Create() => new MemoryStorage();
}

/// <summary>The contract against the simulated disk without faults; a restart is a crash with nothing unsynced.</summary>
public sealed class SimulatedDiskContractTests : StorageContractTests
{
    /// <inheritdoc />
    protected override IReplicaStorage Create() => new SimulatedDisk(new Prng(7), DiskFaults.None);

    /// <inheritdoc />
    protected override IReplicaStorage Restart(IReplicaStorage storage)
    {
        ((SimulatedDisk)storage).Crash();
        return storage;
    }
}

/// <summary>
/// The contract against the file storage in a temporary directory; a restart closes it and reopens it as
/// if the machine had rebooted in between (another boot id), so a clean close is all that vouches for its tail.
/// </summary>
public sealed class FileStorageContractTests : StorageContractTests
{
    private static readonly UInt128 Cluster = 0xC0FFEE;
    private readonly List<string> directories = [];
    private readonly List<FileStorage> open = [];
    private int boots;

    /// <inheritdoc />
    protected override IReplicaStorage Create()
    {
        var directory = TemporaryDirectory("contract");
        directories.Add(directory);
        FileStorage.Format(directory, new StorageIdentity(Cluster, new ReplicaIndex(0), ["127.0.0.1:7000"]));
        return OpenAt(directory);
    }

    /// <inheritdoc />
    protected override IReplicaStorage Restart(IReplicaStorage storage)
    {
        var file = (FileStorage)storage;
        file.Dispose();
        open.Remove(file);
        var reopened = OpenAt(file.Directory);
        Assert.True(reopened.Health.IsHealthy, reopened.Health.ToString());
        Assert.Equal(0, reopened.Health.TornRecords);
        Assert.False(reopened.Load().TailUncertain, $"a clean reopen reports an uncertain tail: {reopened.Health}");
        return reopened;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        foreach (var storage in open)
        {
            storage.Dispose();
        }

        foreach (var directory in directories)
        {
            Directory.Delete(directory, recursive: true);
        }

        base.Dispose(disposing);
    }

    private FileStorage OpenAt(string directory)
    {
        // Tiny segments, so rolling, compaction and segment deletion happen in every test.
        var boot = new Guid(++boots, 0, 0, new byte[8]);
        var storage = FileStorage.Open(directory, Cluster, new ReplicaIndex(0), new FileStorageOptions { SegmentSizeBytes = 2048, BootId = boot });
        open.Add(storage);
        return storage;
    }
}
