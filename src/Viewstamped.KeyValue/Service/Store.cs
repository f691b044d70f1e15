namespace Viewstamped.KeyValue;

/// <summary>
/// The keys: a hash set of records (found by key span) and an index of the records that expire,
/// ordered by expiry time then key. A record is in the index exactly when it has an expiry. The
/// store's time is <see cref="Now"/>; a key is expired when <c>Now &gt; expireAt</c>, as in Redis.
/// </summary>
/// <remarks>
/// Which expired keys are still physically held may differ between replicas (one restored from a
/// checkpoint holds none), so nothing observable may depend on it: every lookup treats an expired
/// record as absent, DBSIZE sweeps all of them first, and checkpoints leave them out.
/// </remarks>
internal sealed class Store
{
    private readonly HashSet<byte[]> records = new(RecordKeyComparer.Instance);
    private readonly HashSet<byte[]>.AlternateLookup<ReadOnlySpan<byte>> byKey;
    private readonly SortedSet<byte[]> expiring = new(RecordExpiryOrder.Instance);

    public Store()
    {
        byKey = records.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>The store's time in milliseconds; it only moves forward.</summary>
    public long Now { get; set; }

    /// <summary>Records held, expired ones not yet removed included.</summary>
    public int Count => records.Count;

    /// <summary>Records with an expiry held.</summary>
    public int ExpiringCount => expiring.Count;

    public bool IsExpired(byte[] record) => Record.HasExpiry(record) && Now > Record.ExpireAt(record);

    /// <summary>The live record of <paramref name="key"/>, or null; an expired one is removed on the way (lazy expiry).</summary>
    public byte[]? Find(ReadOnlySpan<byte> key)
    {
        if (!byKey.TryGetValue(key, out var record))
        {
            return null;
        }

        if (IsExpired(record))
        {
            Remove(record);
            return null;
        }

        return record;
    }

    /// <summary>Sets <paramref name="key"/>, replacing <paramref name="existing"/> (its live record, or null).</summary>
    public void Put(byte[]? existing, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long? expireAt)
    {
        if (existing is not null && Record.CanOverwrite(existing, value.Length, expireAt.HasValue))
        {
            // Same size and layout: reuse the array (the common SET of a fixed-size value).
            var indexed = Record.HasExpiry(existing);
            if (indexed)
            {
                expiring.Remove(existing);
            }

            Record.Overwrite(existing, value, expireAt);
            if (indexed)
            {
                expiring.Add(existing);
            }

            return;
        }

        Replace(existing, Record.Create(key, value, expireAt));
    }

    /// <summary>Puts <paramref name="record"/> in place of <paramref name="existing"/> (same key, or null).</summary>
    public void Replace(byte[]? existing, byte[] record)
    {
        if (existing is not null)
        {
            Remove(existing);
        }

        records.Add(record);
        if (Record.HasExpiry(record))
        {
            expiring.Add(record);
        }
    }

    /// <summary>Changes the expiry of a live record (null: none).</summary>
    public void SetExpiry(byte[] record, long? expireAt)
    {
        if (Record.HasExpiry(record) && expireAt is { } expiry)
        {
            expiring.Remove(record);
            Record.SetExpireAt(record, expiry);
            expiring.Add(record);
            return;
        }

        if (!Record.HasExpiry(record) && expireAt is null)
        {
            return;
        }

        Replace(record, Record.Create(Record.Key(record), Record.Value(record), expireAt));
    }

    public void Remove(byte[] record)
    {
        records.Remove(record);
        if (Record.HasExpiry(record))
        {
            expiring.Remove(record);
        }
    }

    /// <summary>Removes up to <paramref name="budget"/> expired records, earliest first; returns how many.</summary>
    public int Sweep(int budget)
    {
        var removed = 0;
        while (removed < budget && expiring.Count > 0)
        {
            var earliest = expiring.Min!;
            if (Now <= Record.ExpireAt(earliest))
            {
                break;
            }

            Remove(earliest);
            removed++;
        }

        return removed;
    }

    /// <summary>Adds a record read from a checkpoint; false when its key is already held.</summary>
    public bool TryAdd(byte[] record)
    {
        if (!records.Add(record))
        {
            return false;
        }

        if (Record.HasExpiry(record))
        {
            expiring.Add(record);
        }

        return true;
    }

    /// <summary>The live records in key order (checkpoints).</summary>
    public byte[][] LiveInKeyOrder()
    {
        var live = new byte[records.Count][];
        var count = 0;
        foreach (var record in records)
        {
            if (!IsExpired(record))
            {
                live[count++] = record;
            }
        }

        Array.Resize(ref live, count);
        Array.Sort(live, RecordKeyOrder.Instance);
        return live;
    }

    public void Clear()
    {
        records.Clear();
        records.TrimExcess();
        expiring.Clear();
        Now = 0;
    }
}
