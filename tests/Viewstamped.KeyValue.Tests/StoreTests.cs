using System.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>
/// The packed store against a dictionary: writes of changing sizes, deletes, expiries and appends
/// leave dead records that compaction moves and frees, and every key must still read back.
/// </summary>
public sealed class StoreTests
{
    private const int Keys = 3_000;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(5)]
    public void Live_keys_come_in_byte_order_whether_or_not_every_key_shares_the_prefix_most_do(int outliers)
    {
        // Most keys share a long prefix; the outliers (shorter, a prefix of the others, empty, or
        // diverging early) are likely missed by the sample that guesses the shared prefix.
        var names = Enumerable.Range(0, 5_000).Select(i => $"tenant:0042:user:{i * 7919 % 100_000:D6}").ToList();
        names.AddRange(new[] { "tenant:0042:", "", "tenant:1", "a", "tenant:0042:user:" }.Take(outliers));
        var store = new Store();
        foreach (var name in names)
        {
            store.Put(Store.None, Encoding.ASCII.GetBytes(name), "v"u8, null);
        }

        var listed = store.LiveInKeyOrder().ToArray().Select(handle => Encoding.ASCII.GetString(store.Key(handle))).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), listed);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Churn_keeps_every_key_and_compaction_bounds_the_dead_bytes(int seed)
    {
        var random = new Random(seed);
        var store = new Store();
        var model = new Dictionary<string, (byte[] Value, long? ExpireAt)>();
        var compacted = 0L;
        for (var step = 0; step < 60_000; step++)
        {
            var name = $"key:{random.Next(Keys)}";
            var key = Encoding.ASCII.GetBytes(name);
            var existing = store.Find(key);
            Assert.Equal(model.ContainsKey(name), existing != Store.None);
            switch (random.Next(10))
            {
                case < 5:
                    {
                        // Mostly small values; now and then one large enough for an array of its own.
                        var value = Value(random, random.Next(50) == 0 ? Store.LargeRecordMin + random.Next(1000) : random.Next(400));
                        long? expireAt = random.Next(4) == 0 ? 1_000 + random.Next(1_000) : null;
                        store.Put(existing, key, value, expireAt);
                        model[name] = (value, expireAt);
                        break;
                    }

                case < 7 when existing != Store.None:
                    store.Remove(existing);
                    model.Remove(name);
                    break;

                case 7 when existing != Store.None:
                    {
                        long? expireAt = random.Next(2) == 0 ? null : 2_000 + random.Next(1_000);
                        store.SetExpiry(existing, expireAt);
                        model[name] = (model[name].Value, expireAt);
                        break;
                    }

                case 8 when existing != Store.None:
                    {
                        // As APPEND does: a record with spare room, then appends in place while they fit.
                        var tail = Value(random, random.Next(1, 60));
                        var grown = store.HasSpareRoom(existing) && store.Capacity(existing) >= store.Value(existing).Length + tail.Length
                            ? existing
                            : store.Insert(existing, key, store.Value(existing), store.ExpiryOf(existing), (store.Value(existing).Length + tail.Length) * 2);
                        store.AppendInPlace(grown, tail);
                        model[name] = ([.. model[name].Value, .. tail], model[name].ExpireAt);
                        break;
                    }

                default:
                    break;
            }

            var dead = store.DeadBytes;
            store.Compact();
            compacted += Math.Max(0, dead - store.DeadBytes);
            if (step % 5_000 == 0)
            {
                AssertSame(model, store);
            }
        }

        AssertSame(model, store);
        Assert.True(compacted > 0, "the churn never compacted a slab");
        Assert.True(store.DeadBytes <= Math.Max(2L << 20, store.BytesHeld / 4) + (1 << 20), $"{store.DeadBytes} dead bytes of {store.BytesHeld}");

        // Expiry: the sweep removes exactly the keys whose time has passed, earliest first.
        store.Now = 2_500;
        store.Sweep(int.MaxValue);
        foreach (var (name, (_, expireAt)) in model.Where(entry => entry.Value.ExpireAt < 2_500).ToList())
        {
            Assert.True(expireAt.HasValue);
            model.Remove(name);
        }

        AssertSame(model, store);
        Assert.Equal(model.Count(entry => entry.Value.ExpireAt.HasValue), store.ExpiringCount);
    }

    [Fact]
    public void Deleting_everything_frees_the_slabs()
    {
        var store = new Store();
        var value = new byte[100];
        for (var i = 0; i < 100_000; i++)
        {
            store.Put(Store.None, Encoding.ASCII.GetBytes($"key:{i}"), value, null);
        }

        var full = store.BytesHeld;
        for (var i = 0; i < 100_000; i++)
        {
            store.Remove(store.Find(Encoding.ASCII.GetBytes($"key:{i}")));
            store.Compact();
        }

        Assert.Equal(0, store.Count);
        Assert.True(full > 10 << 20, $"{full} bytes held for 100,000 keys");
        Assert.True(store.BytesHeld <= 4 << 20, $"{store.BytesHeld} bytes still held after deleting every key");
    }

    [Fact]
    public void Bytes_held_count_a_large_record_until_it_is_removed()
    {
        var store = new Store();
        store.Put(Store.None, "small"u8, new byte[100], null);
        var before = store.BytesHeld;
        var big = new byte[Store.LargeRecordMin * 2];
        store.Put(Store.None, "big"u8, big, null);
        Assert.True(store.BytesHeld >= before + big.Length, $"{store.BytesHeld} bytes held with a {big.Length}-byte record");

        store.Remove(store.Find("big"u8));
        Assert.Equal(before, store.BytesHeld);
    }

    [Fact]
    public void Checkpoints_do_not_depend_on_where_records_sit()
    {
        // One service churns (records move, grow by APPEND and compact), another only sets the final
        // values in reverse order: their checkpoints are the same bytes.
        var random = new Random(7);
        var churned = new Kv();
        var final = new Dictionary<string, string>();
        for (var step = 0; step < 40_000; step++)
        {
            var key = $"k{random.Next(2_000)}";
            if (random.Next(4) == 0)
            {
                churned.Do("DEL", key);
                final.Remove(key);
            }
            else if (random.Next(8) == 0)
            {
                // Appended values have spare room, and are written to checkpoints field by field.
                var tail = new string('a', random.Next(1, 50));
                churned.Do("APPEND", key, tail);
                final[key] = final.GetValueOrDefault(key, "") + tail;
            }
            else
            {
                var value = new string('v', random.Next(300));
                churned.Do("SET", key, value);
                final[key] = value;
            }
        }

        var built = new Kv();
        foreach (var (key, value) in final.OrderByDescending(entry => entry.Key, StringComparer.Ordinal))
        {
            built.Do("SET", key, value);
        }

        var checkpoint = churned.Service.WriteCheckpoint();
        Assert.Equal(checkpoint, built.Service.WriteCheckpoint());
        Assert.Equal(Text.Int(final.Count), churned.Do("DBSIZE"));
        var restored = new Kv();
        restored.Service.RestoreCheckpoint(checkpoint);
        Assert.Equal(checkpoint, restored.Service.WriteCheckpoint());
    }

    private static byte[] Value(Random random, int length)
    {
        var value = new byte[length];
        random.NextBytes(value);
        return value;
    }

    private static void AssertSame(Dictionary<string, (byte[] Value, long? ExpireAt)> model, Store store)
    {
        Assert.Equal(model.Count, store.Count);
        foreach (var (name, (value, expireAt)) in model)
        {
            var handle = store.Find(Encoding.ASCII.GetBytes(name));
            Assert.NotEqual(Store.None, handle);
            Assert.True(value.AsSpan().SequenceEqual(store.Value(handle)), $"value of {name}");
            Assert.Equal(expireAt, store.ExpiryOf(handle));
        }
    }
}
