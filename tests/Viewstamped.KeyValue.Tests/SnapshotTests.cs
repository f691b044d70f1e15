using System.Buffers;

namespace Viewstamped.KeyValue.Tests;

/// <summary>
/// A checkpoint snapshot freezes the store: it writes the state it was taken at, whatever executes
/// before it is written, and the store goes on as if nothing happened once it is disposed of.
/// </summary>
public sealed class SnapshotTests
{
    [Fact]
    public void A_snapshot_writes_the_state_it_was_taken_at_whatever_executes_meanwhile()
    {
        var kv = Populated();
        var expected = kv.Service.WriteCheckpoint();
        var snapshot = kv.Service.TakeSnapshot();

        ChangeEverything(kv);
        var changed = kv.Service.WriteCheckpoint();
        var written = new ArrayBufferWriter<byte>();
        snapshot.WriteTo(written);

        Assert.Equal(expected, written.WrittenSpan.ToArray());
        Assert.NotEqual(expected, changed);
    }

    [Fact]
    public void After_the_snapshot_is_disposed_of_the_store_is_what_the_same_operations_make_without_one()
    {
        var kv = Populated();
        var plain = Populated();
        using (kv.Service.TakeSnapshot())
        {
            ChangeEverything(kv);
        }

        ChangeEverything(plain);
        Assert.Equal(plain.Service.WriteCheckpoint(), kv.Service.WriteCheckpoint());

        // The dead records of the frozen time are reclaimed afterwards: rewriting every key in
        // another size leaves the store no bigger than one that never froze.
        Rewrite(kv, 'z', 120);
        Rewrite(plain, 'z', 120);
        Assert.Equal(plain.Service.WriteCheckpoint(), kv.Service.WriteCheckpoint());
        Assert.Equal(plain.Service.Count, kv.Service.Count);
    }

    [Fact]
    public void One_snapshot_at_a_time()
    {
        var kv = Populated();
        using var first = kv.Service.TakeSnapshot();

        Assert.Throws<InvalidOperationException>(() => kv.Service.TakeSnapshot());
    }

    [Fact]
    public void A_frozen_store_sees_no_change_to_its_records()
    {
        var store = new Store();
        store.Put(Store.None, "a"u8, "1111"u8, null);
        store.Put(Store.None, "b"u8, "2222"u8, 50);
        store.Put(Store.None, "expired"u8, "5555"u8, 10);
        store.Now = 20; // "expired" is still held, and left out of what the frozen store lists
        var frozen = store.Freeze();

        store.Put(store.Find("a"u8), "a"u8, "9999"u8, null);
        store.SetExpiry(store.Find("b"u8), 70);
        store.Remove(store.Find("b"u8));
        store.Put(Store.None, "c"u8, "3333"u8, null);

        Assert.True(store.IsFrozen);
        var live = frozen.LiveInKeyOrder();
        Assert.Equal(2, live.Length);
        Assert.Equal("1111"u8.ToArray(), frozen.Value(live[0]).ToArray());
        Assert.Equal(50, frozen.ExpiryOf(live[1]));
        store.Thaw();
        Assert.False(store.IsFrozen);
        Assert.Equal("9999"u8.ToArray(), store.Value(store.Find("a"u8)).ToArray());
        Assert.Equal(Store.None, store.Find("b"u8));
    }

    [Fact]
    public void Once_written_the_snapshot_lets_the_store_write_in_place_again_before_it_is_disposed_of()
    {
        var kv = Populated();
        var pending = Populated();
        using var writtenSnapshot = kv.Service.TakeSnapshot();
        using var pendingSnapshot = pending.Service.TakeSnapshot();
        writtenSnapshot.WriteTo(new ArrayBufferWriter<byte>());
        var (before, pendingBefore) = (kv.Service.BytesHeld, pending.Service.BytesHeld);

        // Still frozen, a rewrite of the same size goes to new records; written, the store thaws at
        // its next operation and rewrites in place.
        Rewrite(kv, 'w', 100);
        Rewrite(pending, 'w', 100);
        Assert.True(pending.Service.BytesHeld > pendingBefore, $"{pending.Service.BytesHeld} bytes held after rewriting a frozen store, {pendingBefore} before");
        Assert.True(kv.Service.BytesHeld <= before, $"{kv.Service.BytesHeld} bytes held after rewriting a written snapshot's store, {before} before");
        Assert.Equal(pending.Service.WriteCheckpoint(), kv.Service.WriteCheckpoint());
    }

    [Fact]
    public void A_released_store_thaws_between_operations_and_only_its_own_freeze_ends()
    {
        var store = new Store();
        store.Put(Store.None, "a"u8, "1111"u8, null);
        var first = store.Freeze();
        store.ThawIfReleased();
        Assert.True(store.IsFrozen);

        first.Release();
        Assert.True(store.IsFrozen);
        store.ThawIfReleased();
        Assert.False(store.IsFrozen);

        var second = store.Freeze();
        store.Thaw(first); // the first snapshot disposed of late: not this freeze's
        Assert.True(store.IsFrozen);
        store.Thaw(second);
        Assert.False(store.IsFrozen);
        Assert.Throws<InvalidOperationException>(store.Release);
    }

    [Fact]
    public void Successive_snapshots_write_their_own_states_when_the_store_grows_and_shrinks_between_them()
    {
        // Each freeze reuses the record list and sort keys of the last one written: a larger store
        // needs larger ones, a smaller one uses part of them, and one never written hands back nothing.
        var kv = Populated();
        for (var round = 0; round < 4; round++)
        {
            var expected = kv.Service.WriteCheckpoint();
            var snapshot = kv.Service.TakeSnapshot();
            ChangeEverything(kv);
            var written = new ArrayBufferWriter<byte>();
            if (round != 2)
            {
                snapshot.WriteTo(written);
                Assert.Equal(expected, written.WrittenSpan.ToArray());
            }

            snapshot.Dispose();
            for (var i = 0; i < (round == 0 ? 5_000 : 0); i++)
            {
                kv.Run($"SET more:{i} {i}");
            }

            kv.Run(round == 1 ? "DEL " + string.Join(' ', Enumerable.Range(0, 9_000).Select(i => $"key:{i:D8}")) : "SET tick 1");
        }
    }

    /// <summary>Enough keys for several slabs, some expiring, one grown by APPEND, one large.</summary>
    private static Kv Populated()
    {
        var kv = new Kv();
        Rewrite(kv, 'v', 100);
        for (var i = 0; i < 200; i++)
        {
            kv.Run($"PEXPIRE key:{i * 37:D8} {1000 + i}");
        }

        kv.Run("APPEND grown abc");
        kv.Run("APPEND grown def");
        kv.Run($"SET large {new string('L', Store.LargeRecordMin)}");
        return kv;
    }

    /// <summary>Every kind of change: in place or not, expiry set, changed and dropped, keys removed, slabs compacted, keys expired.</summary>
    private static void ChangeEverything(Kv kv)
    {
        Rewrite(kv, 'w', 100);
        Rewrite(kv, 'x', 60);
        kv.Run("APPEND grown g");
        kv.Run($"SET large {new string('M', Store.LargeRecordMin)}");
        kv.Run("APPEND large tail");
        kv.Run("PEXPIRE key:00000037 5000");
        kv.Run("PERSIST key:00000074");
        kv.Run("DEL key:00000001 key:00000002");
        kv.Run("SET new 1");
        kv.Clock += 1150; // some of the keys with an expiry are gone
        kv.Run("DBSIZE");
    }

    private static void Rewrite(Kv kv, char fill, int length)
    {
        var value = new string(fill, length);
        for (var i = 0; i < 20_000; i++)
        {
            kv.Run($"SET key:{i:D8} {value}");
        }
    }
}
