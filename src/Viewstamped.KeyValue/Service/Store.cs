using System.Buffers.Binary;

namespace Viewstamped.KeyValue;

/// <summary>
/// The keys, packed for memory: records (flags, expiry, key, value) laid end to end in 1 MiB slabs,
/// an open-addressing hash index of <see cref="int"/> handles, and an index of the records that
/// expire, ordered by expiry time then key. A million keys are a few hundred objects, not a
/// million, so the GC neither pays a per-object header for each key nor marks them one by one.
/// The store's time is <see cref="Now"/>; a key is expired when <c>Now &gt; expireAt</c>, as in Redis.
/// </summary>
/// <remarks>
/// <para>A record is <c>[flags][expireAt: 8, if flag 1][key length: varint][value length: varint]
/// [capacity: varint, if flag 2][key][value][spare up to capacity]</c>, starting on a 4-byte
/// boundary of its slab. A handle names it: slab number times 2^18 plus offset / 4; a record of
/// <see cref="LargeRecordMin"/> bytes or more gets an array of its own and a negative handle. A
/// value of the same length and expiry kind is overwritten in place; any other change writes a new
/// record at the end of the active slab and marks the old one dead. When dead bytes pass a quarter
/// of all slabs, each operation compacts the slab with the most dead bytes (at most 1 MiB copied).
/// Handles change when records move, so a handle or a span from this store is valid only until the
/// next <see cref="Compact"/>, which runs only between operations.</para>
/// <para>Which expired keys are still physically held, and where records sit, may differ between
/// replicas (one restored from a checkpoint holds no expired keys), so nothing observable may
/// depend on it: every lookup treats an expired record as absent, DBSIZE sweeps all of them first,
/// and checkpoints leave them out and list keys in byte order.</para>
/// </remarks>
internal sealed class Store
{
    /// <summary>No record.</summary>
    public const int None = -1;

    /// <summary>Records this size or larger get an array of their own, so a slab wastes little at its end.</summary>
    public const int LargeRecordMin = SlabSize / 8;

    private const int SlabShift = 20;
    private const int SlabSize = 1 << SlabShift;
    private const int OffsetBits = SlabShift - 2;
    private const int OffsetMask = (1 << OffsetBits) - 1;
    private const int SlabsMax = 1 << (31 - OffsetBits);
    private const byte ExpiryFlag = 1;
    private const byte CapacityFlag = 2;
    private const byte DeadFlag = 0x80;

    /// <summary>The most freed slabs kept for reuse (<see cref="slabsSpare"/>): 32 MiB.</summary>
    private const int SpareSlabsMax = 32;

    private readonly SortedSet<int> expiring;

    private byte[]?[] slabs = [];
    private int[] slabUsed = [];
    private int[] slabDead = [];
    private int slabCount;
    private int slabsHeld;
    private readonly Stack<int> slabIdsFree = new();

    /// <summary>
    /// Slabs freed by compaction, kept for the next ones: a checkpoint's freeze writes every rewritten
    /// record anew, and compaction frees as many slabs after the thaw, so without these each cycle would
    /// leave tens of large arrays for a full collection and allocate as many again.
    /// </summary>
    private readonly Stack<byte[]> slabsSpare = new();
    private int active = None;
    private long deadBytes;

    private readonly List<byte[]?> large = [];
    private long largeBytes;
    private readonly Stack<int> largeIdsFree = new();

    private int[] handles;
    private int[] hashes;
    private int count;

    /// <summary>While frozen: per slab, the bytes at its start that the frozen store may read.</summary>
    private int[]? frozenUsed;

    /// <summary>While frozen: the large records the frozen store holds, by id.</summary>
    private byte[]?[]? frozenLarge;

    /// <summary>While frozen: slab records removed since the freeze, marked dead at the thaw.</summary>
    private readonly List<int> deadWhileFrozen = [];

    /// <summary>While frozen: the frozen store, which says when it will not be read again.</summary>
    private Store? frozenView;

    /// <summary>In a frozen store: true (set from any thread) once it will not be read again.</summary>
    private volatile bool released;

    /// <summary>True in a frozen store: its index is the list of its records (no empty slots).</summary>
    private readonly bool isFrozenView;

    /// <summary>
    /// The record list and sort keys of the last frozen store that was written and released, reused by
    /// the next freeze: 12 bytes a key that would otherwise be two large arrays per checkpoint.
    /// </summary>
    private int[]? listSpare;
    private ulong[]? prefixesSpare;

    /// <summary>In a frozen store: the sort keys <see cref="LiveInKeyOrder"/> used, handed back at the thaw.</summary>
    private ulong[]? prefixes;

    public Store(int capacity = 0)
    {
        expiring = new SortedSet<int>(new ExpiryOrder(this));
        var size = 16;
        while (size * 3L / 4 < capacity)
        {
            size *= 2;
        }

        handles = NewHandles(size);
        hashes = new int[size];
    }

    /// <summary>
    /// A read-only copy of <paramref name="live"/>: the list of its records (4 bytes a key, not a copy
    /// of the index with its empty slots, and the array <see cref="LiveInKeyOrder"/> sorts in place),
    /// and the slabs and large records it shares. It cannot look keys up.
    /// </summary>
    private Store(Store live)
    {
        expiring = new SortedSet<int>(new ExpiryOrder(this));
        slabs = (byte[]?[])live.slabs.Clone();
        large = [.. live.large];
        largeBytes = live.largeBytes;
        slabsHeld = live.slabsHeld;
        // Without a branch per slot (half of them empty, at random), this runs as fast as a copy of the
        // index: every handle is written, and the next one overwrites it unless it was a record. Hence
        // one element more than the records, never read.
        handles = live.listSpare is { } list && list.Length > live.count ? list : new int[live.count + 1 + (live.count / 16)];
        prefixes = live.prefixesSpare;
        live.listSpare = null;
        live.prefixesSpare = null;
        var at = 0;
        foreach (var handle in live.handles)
        {
            handles[at] = handle;
            at += handle != None ? 1 : 0;
        }

        hashes = [];
        count = live.count;
        Now = live.Now;
        isFrozenView = true;
    }

    /// <summary>The store's time in milliseconds; it only moves forward.</summary>
    public long Now { get; set; }

    /// <summary>Records held, expired ones not yet removed included.</summary>
    public int Count => count;

    /// <summary>Records with an expiry held.</summary>
    public int ExpiringCount => expiring.Count;

    /// <summary>
    /// Bytes of slabs held (live, dead and not yet used) and of records in arrays of their own. May be
    /// read from any thread (it is then a recent value, not a consistent one).
    /// </summary>
    public long BytesHeld => ((long)Volatile.Read(ref slabsHeld) * SlabSize) + Volatile.Read(ref largeBytes);

    /// <summary>Bytes of slabs held by dead records (and unused slab ends) until a compaction.</summary>
    public long DeadBytes => deadBytes;

    public ReadOnlySpan<byte> Key(int handle)
    {
        var record = Span(handle);
        var layout = Layout.Of(record);
        return record.Slice(layout.KeyStart, layout.KeyLength);
    }

    public ReadOnlySpan<byte> Value(int handle)
    {
        var record = Span(handle);
        var layout = Layout.Of(record);
        return record.Slice(layout.KeyStart + layout.KeyLength, layout.ValueLength);
    }

    public bool HasExpiry(int handle) => (Span(handle)[0] & ExpiryFlag) != 0;

    public long? ExpiryOf(int handle) => HasExpiry(handle) ? ExpireAt(handle) : null;

    public bool IsExpired(int handle) => HasExpiry(handle) && Now > ExpireAt(handle);

    /// <summary>True between <see cref="Freeze"/> and <see cref="Thaw()"/>.</summary>
    public bool IsFrozen => frozenUsed is not null;

    /// <summary>
    /// Returns a read-only store holding exactly the records held now, which stay as they are until
    /// <see cref="Thaw()"/>, or until the frozen store is <see cref="Release">released</see> and this one
    /// runs <see cref="ThawIfReleased"/> (see the remarks on the class). It may be read from any
    /// thread. Costs the list of the records (4 bytes a key).
    /// </summary>
    /// <exception cref="InvalidOperationException">The store is frozen already.</exception>
    public Store Freeze()
    {
        if (frozenUsed is not null)
        {
            throw new InvalidOperationException("the store is frozen already: one checkpoint at a time");
        }

        var used = new int[slabCount];
        for (var id = 0; id < slabCount; id++)
        {
            used[id] = slabs[id] is null ? 0 : slabUsed[id];
        }

        var frozen = new Store(this);
        frozenUsed = used;
        frozenLarge = [.. large];
        frozenView = frozen;
        return frozen;
    }

    /// <summary>
    /// Called on a frozen store, from any thread, once it will not be read again: its live store
    /// thaws at its next <see cref="ThawIfReleased"/> instead of waiting for <see cref="Thaw()"/>, so the
    /// records rewritten meanwhile stop piling up as soon as the snapshot is written.
    /// </summary>
    public void Release()
    {
        if (!isFrozenView)
        {
            throw new InvalidOperationException("only a frozen store is released");
        }

        released = true;
    }

    /// <summary>Thaws when the frozen store was <see cref="Release">released</see>; call between operations.</summary>
    public void ThawIfReleased()
    {
        if (frozenView is { released: true })
        {
            Thaw();
        }
    }

    /// <summary>Thaws if <paramref name="frozen"/> is what this store is frozen for (it may have thawed already).</summary>
    public void Thaw(Store frozen)
    {
        if (ReferenceEquals(frozenView, frozen))
        {
            Thaw();
        }
    }

    /// <summary>Ends the freeze: the frozen store is no longer read, and records removed meanwhile are marked dead.</summary>
    public void Thaw()
    {
        if (frozenUsed is null)
        {
            return;
        }

        if (frozenView is { released: true } written)
        {
            // The writer is done with them (it released the view after its last read).
            listSpare = written.handles;
            prefixesSpare = written.prefixes;
        }

        frozenUsed = null;
        frozenLarge = null;
        frozenView = null;
        foreach (var handle in deadWhileFrozen)
        {
            Span(handle)[0] |= DeadFlag;
        }

        deadWhileFrozen.Clear();
    }

    /// <summary>True when the record has room beyond its value (grown by APPEND).</summary>
    public bool HasSpareRoom(int handle) => (Span(handle)[0] & CapacityFlag) != 0;

    /// <summary>The room for the value: its length, or more for a record grown by APPEND.</summary>
    public int Capacity(int handle) => Layout.Of(Span(handle)).Capacity;

    /// <summary>True when <see cref="AppendInPlace"/> may make the value <paramref name="length"/> bytes long: there is room, and no frozen store sees the record.</summary>
    public bool CanAppendInPlace(int handle, long length) => HasSpareRoom(handle) && Capacity(handle) >= length && !IsFrozenRecord(handle);

    /// <summary>
    /// The record's bytes when they are exactly its checkpoint entry (flags 0 or 1, the expiry,
    /// canonical key and value lengths, key, value): any record without spare room. Empty otherwise.
    /// </summary>
    public ReadOnlySpan<byte> CheckpointEntry(int handle)
    {
        var record = Span(handle);
        if ((record[0] & ~ExpiryFlag) != 0)
        {
            return default;
        }

        var layout = Layout.Of(record);
        return record[..(layout.KeyStart + layout.KeyLength + layout.ValueLength)];
    }

    /// <summary>The live record of <paramref name="key"/>, or <see cref="None"/>; an expired one is removed on the way (lazy expiry).</summary>
    public int Find(ReadOnlySpan<byte> key)
    {
        var slot = SlotOf(key, Hash(key));
        if (slot < 0)
        {
            return None;
        }

        var handle = handles[slot];
        if (IsExpired(handle))
        {
            Remove(handle);
            return None;
        }

        return handle;
    }

    /// <summary>Sets <paramref name="key"/>, replacing <paramref name="existing"/> (its live record, or <see cref="None"/>).</summary>
    public void Put(int existing, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long? expireAt)
    {
        if (existing != None)
        {
            var record = Span(existing);
            var layout = Layout.Of(record);
            if ((record[0] & CapacityFlag) == 0 && ((record[0] & ExpiryFlag) != 0) == expireAt.HasValue && layout.ValueLength == value.Length
                && !IsFrozenRecord(existing))
            {
                // Same size and layout: in place (the common SET of a fixed-size value).
                if (expireAt is { } expiry)
                {
                    expiring.Remove(existing);
                    BinaryPrimitives.WriteInt64LittleEndian(record[1..], expiry);
                    expiring.Add(existing);
                }

                value.CopyTo(record[(layout.KeyStart + layout.KeyLength)..]);
                return;
            }
        }

        Insert(existing, key, value, expireAt, capacity: -1);
    }

    /// <summary>
    /// Writes a new record for <paramref name="key"/> with room for <paramref name="capacity"/> value
    /// bytes (-1: exactly the value) in place of <paramref name="existing"/>; returns its handle.
    /// <paramref name="key"/> and <paramref name="value"/> may point into <paramref name="existing"/>.
    /// </summary>
    public int Insert(int existing, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long? expireAt, int capacity)
    {
        var created = Write(key, value, expireAt, capacity);
        if (existing == None)
        {
            AddToIndex(created, key);
        }
        else
        {
            handles[SlotOf(existing)] = created;
            Kill(existing);
        }

        if (expireAt.HasValue)
        {
            expiring.Add(created);
        }

        return created;
    }

    /// <summary>Changes the expiry of a live record (null: none).</summary>
    public void SetExpiry(int handle, long? expireAt)
    {
        if (HasExpiry(handle) && expireAt is { } expiry && !IsFrozenRecord(handle))
        {
            expiring.Remove(handle);
            BinaryPrimitives.WriteInt64LittleEndian(Span(handle)[1..], expiry);
            expiring.Add(handle);
            return;
        }

        if (!HasExpiry(handle) && expireAt is null)
        {
            return;
        }

        Insert(handle, Key(handle), Value(handle), expireAt, capacity: -1);
    }

    /// <summary>Appends to a record with spare room: the caller checked <see cref="CanAppendInPlace"/>, or made the record.</summary>
    public int AppendInPlace(int handle, ReadOnlySpan<byte> tail)
    {
        if (IsFrozenRecord(handle))
        {
            throw new InvalidOperationException("a record a frozen store sees is never changed in place");
        }

        var record = Span(handle);
        var layout = Layout.Of(record);
        tail.CopyTo(record[(layout.KeyStart + layout.KeyLength + layout.ValueLength)..]);
        var length = layout.ValueLength + tail.Length;

        // Records with spare room keep their value length in a fixed 5 bytes, so it can grow in place.
        VarInt.WriteFixed(record.Slice(layout.ValueLengthAt, VarInt.MaxSize), (uint)length);
        return length;
    }

    public void Remove(int handle)
    {
        var slot = SlotOf(handle);
        Kill(handle);
        RemoveSlot(slot);
    }

    /// <summary>Removes up to <paramref name="budget"/> expired records, earliest first; returns how many.</summary>
    public int Sweep(int budget)
    {
        var removed = 0;
        while (removed < budget && expiring.Count > 0)
        {
            var earliest = expiring.Min;
            if (Now <= ExpireAt(earliest))
            {
                break;
            }

            Remove(earliest);
            removed++;
        }

        return removed;
    }

    /// <summary>
    /// When dead bytes pass a quarter of the slabs (and two slabs), moves the live records of the
    /// slab with the most dead bytes to the active slab and frees it: at most one slab per call, so
    /// an operation's extra work stays bounded. Invalidates handles and spans.
    /// </summary>
    public void Compact()
    {
        // A frozen store reads the slabs as they are; the dead bytes wait for the thaw.
        if (frozenUsed is not null || deadBytes <= 2L * SlabSize || deadBytes * 4 <= (long)slabsHeld * SlabSize)
        {
            return;
        }

        var victim = None;
        for (var id = 0; id < slabCount; id++)
        {
            if (id != active && slabs[id] is not null && (victim == None || slabDead[id] > slabDead[victim]))
            {
                victim = id;
            }
        }

        // Copying a slab with little dead space would free almost nothing.
        if (victim == None || slabDead[victim] < SlabSize / 8)
        {
            return;
        }

        var slab = slabs[victim]!;
        var end = slabUsed[victim];
        for (var at = 0; at < end;)
        {
            var size = Layout.Of(slab.AsSpan(at)).Size;
            if ((slab[at] & DeadFlag) == 0)
            {
                var moving = (victim << OffsetBits) | (at >> 2);
                var hasExpiry = (slab[at] & ExpiryFlag) != 0;
                if (hasExpiry)
                {
                    expiring.Remove(moving);
                }

                var slot = SlotOf(moving);
                var moved = Allocate(size, out var destination);
                slab.AsSpan(at, size).CopyTo(destination);
                handles[slot] = moved;
                if (hasExpiry)
                {
                    expiring.Add(moved);
                }
            }

            at += size;
        }

        deadBytes -= slabDead[victim];
        slabs[victim] = null;
        slabsHeld--;
        slabIdsFree.Push(victim);
        if (slabsSpare.Count < SpareSlabsMax)
        {
            slabsSpare.Push(slab);
        }
    }

    /// <summary>The handles of the live records in key order (checkpoints).</summary>
    /// <remarks>
    /// Comparing keys in the slabs costs a cache miss per key, so the sort first orders the eight
    /// bytes that follow the prefix all keys share (zero-padded, big-endian: different ones order
    /// as the keys do), then compares whole keys only within runs of equal ones.
    /// </remarks>
    public ReadOnlySpan<int> LiveInKeyOrder()
    {
        // A frozen store's index is the list of its records already: it is filtered and sorted in place.
        var live = isFrozenView ? handles : new int[count];
        var at = 0;
        var common = None;
        ReadOnlySpan<byte> first = default;
        foreach (var handle in handles.AsSpan(0, isFrozenView ? count : handles.Length))
        {
            if (handle != None && !IsExpired(handle))
            {
                live[at++] = handle;
                var key = Key(handle);
                if (common == None)
                {
                    first = key;
                    common = key.Length;
                }
                else
                {
                    common = Math.Min(common, key.CommonPrefixLength(first));
                }
            }
        }

        var length = at;
        var prefixes = this.prefixes is { } spare && spare.Length >= length ? spare : new ulong[length + (length / 16)];
        if (isFrozenView)
        {
            this.prefixes = prefixes;
        }

        Span<byte> padded = stackalloc byte[8];
        for (var i = 0; i < length; i++)
        {
            var key = Key(live[i]);
            var rest = key[Math.Min(common, key.Length)..];
            padded.Clear();
            rest[..Math.Min(8, rest.Length)].CopyTo(padded);
            prefixes[i] = BinaryPrimitives.ReadUInt64BigEndian(padded);
        }

        Array.Sort(prefixes, live, 0, length);
        var order = new KeyOrder(this);
        for (var start = 0; start < length;)
        {
            var end = start + 1;
            while (end < length && prefixes[end] == prefixes[start])
            {
                end++;
            }

            if (end - start > 1)
            {
                Array.Sort(live, start, end - start, order);
            }

            start = end;
        }

        return live.AsSpan(0, length);
    }

    /// <summary>
    /// System.HashCode is seeded per process, so colliding keys cannot be precomputed (hash
    /// flooding). The hash never reaches anything a client or another replica sees.
    /// </summary>
    private static int Hash(ReadOnlySpan<byte> key)
    {
        var hash = default(HashCode);
        hash.AddBytes(key);
        return hash.ToHashCode();
    }

    private static int[] NewHandles(int size)
    {
        var created = new int[size];
        Array.Fill(created, None);
        return created;
    }

    /// <summary>True when a frozen store sees the record, so it must not change in place.</summary>
    private bool IsFrozenRecord(int handle)
    {
        if (frozenUsed is not { } used)
        {
            return false;
        }

        if (handle < 0)
        {
            var id = -2 - handle;
            return id < frozenLarge!.Length && ReferenceEquals(frozenLarge[id], large[id]);
        }

        var slab = handle >> OffsetBits;
        return slab < used.Length && (handle & OffsetMask) << 2 < used[slab];
    }

    private long ExpireAt(int handle) => BinaryPrimitives.ReadInt64LittleEndian(Span(handle)[1..]);

    private Span<byte> Span(int handle) =>
        handle >= 0
            ? slabs[handle >> OffsetBits]!.AsSpan((handle & OffsetMask) << 2)
            : large[-2 - handle]!.AsSpan();

    /// <summary>The index slot holding <paramref name="key"/>, or a negative number.</summary>
    private int SlotOf(ReadOnlySpan<byte> key, int hash)
    {
        var mask = handles.Length - 1;
        for (var slot = hash & mask; ; slot = (slot + 1) & mask)
        {
            var handle = handles[slot];
            if (handle == None)
            {
                return -1;
            }

            if (hashes[slot] == hash && Key(handle).SequenceEqual(key))
            {
                return slot;
            }
        }
    }

    /// <summary>The index slot holding <paramref name="handle"/>, which must be indexed.</summary>
    private int SlotOf(int handle)
    {
        var mask = handles.Length - 1;
        for (var slot = Hash(Key(handle)) & mask; ; slot = (slot + 1) & mask)
        {
            if (handles[slot] == handle)
            {
                return slot;
            }

            if (handles[slot] == None)
            {
                throw new InvalidOperationException("store index lost a record");
            }
        }
    }

    private void AddToIndex(int handle, ReadOnlySpan<byte> key)
    {
        if (count + 1 > handles.Length * 3L / 4)
        {
            Grow();
        }

        var hash = Hash(key);
        var mask = handles.Length - 1;
        var slot = hash & mask;
        while (handles[slot] != None)
        {
            slot = (slot + 1) & mask;
        }

        handles[slot] = handle;
        hashes[slot] = hash;
        count++;
    }

    private void Grow()
    {
        var oldHandles = handles;
        var oldHashes = hashes;
        handles = NewHandles(oldHandles.Length * 2);
        hashes = new int[handles.Length];
        var mask = handles.Length - 1;
        for (var i = 0; i < oldHandles.Length; i++)
        {
            if (oldHandles[i] != None)
            {
                var slot = oldHashes[i] & mask;
                while (handles[slot] != None)
                {
                    slot = (slot + 1) & mask;
                }

                handles[slot] = oldHandles[i];
                hashes[slot] = oldHashes[i];
            }
        }
    }

    /// <summary>Empties a slot of the linear-probing index and shifts later entries of its run back (no tombstones).</summary>
    private void RemoveSlot(int hole)
    {
        var mask = handles.Length - 1;
        handles[hole] = None;
        count--;
        for (var next = (hole + 1) & mask; handles[next] != None; next = (next + 1) & mask)
        {
            var home = hashes[next] & mask;

            // The entry at next may move into the hole unless its home lies cyclically in (hole, next].
            var stays = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!stays)
            {
                handles[hole] = handles[next];
                hashes[hole] = hashes[next];
                handles[next] = None;
                hole = next;
            }
        }
    }

    /// <summary>Marks a record dead (its slab bytes wait for a compaction) and drops it from the expiry index.</summary>
    private void Kill(int handle)
    {
        var record = Span(handle);
        if ((record[0] & ExpiryFlag) != 0)
        {
            expiring.Remove(handle);
        }

        if (handle < 0)
        {
            largeBytes -= large[-2 - handle]!.Length;
            large[-2 - handle] = null;
            largeIdsFree.Push(-2 - handle);
            return;
        }

        if (IsFrozenRecord(handle))
        {
            deadWhileFrozen.Add(handle);
        }
        else
        {
            record[0] |= DeadFlag;
        }

        var size = Layout.Of(record).Size;
        slabDead[handle >> OffsetBits] += size;
        deadBytes += size;
    }

    /// <summary>Writes a record (not yet indexed) and returns its handle.</summary>
    private int Write(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long? expireAt, int capacity)
    {
        var spare = capacity >= 0;
        var room = Math.Max(capacity, value.Length);
        var flags = (byte)((expireAt.HasValue ? ExpiryFlag : 0) | (spare ? CapacityFlag : 0));
        var header = 1 + (expireAt.HasValue ? 8 : 0) + VarInt.SizeOf((uint)key.Length)
            + (spare ? 2 * VarInt.MaxSize : VarInt.SizeOf((uint)value.Length));
        var handle = Allocate(header + key.Length + room, out var record);
        record[0] = flags;
        var at = 1;
        if (expireAt is { } expiry)
        {
            BinaryPrimitives.WriteInt64LittleEndian(record[at..], expiry);
            at += 8;
        }

        at += VarInt.Write(record[at..], (uint)key.Length);
        if (spare)
        {
            VarInt.WriteFixed(record[at..], (uint)value.Length);
            VarInt.WriteFixed(record[(at + VarInt.MaxSize)..], (uint)room);
            at += 2 * VarInt.MaxSize;
        }
        else
        {
            at += VarInt.Write(record[at..], (uint)value.Length);
        }

        // Copy the value first: it may point into a record being replaced, never into this one.
        value.CopyTo(record[(at + key.Length)..]);
        key.CopyTo(record[at..]);
        return handle;
    }

    /// <summary>Room for a record of <paramref name="size"/> bytes: at the end of the active slab, or an array of its own.</summary>
    private int Allocate(int size, out Span<byte> record)
    {
        if (size >= LargeRecordMin)
        {
            var array = new byte[size];
            largeBytes += size;
            int id;
            if (largeIdsFree.Count > 0)
            {
                id = largeIdsFree.Pop();
                large[id] = array;
            }
            else
            {
                id = large.Count;
                large.Add(array);
            }

            record = array;
            return -2 - id;
        }

        var aligned = (size + 3) & ~3;
        if (active == None || slabUsed[active] + aligned > SlabSize)
        {
            NewActiveSlab();
        }

        var at = slabUsed[active];
        slabUsed[active] = at + aligned;
        record = slabs[active]!.AsSpan(at, size);
        return (active << OffsetBits) | (at >> 2);
    }

    private void NewActiveSlab()
    {
        if (active != None)
        {
            // The unused end of the old active slab counts as dead, so compaction can reclaim it.
            var tail = SlabSize - slabUsed[active];
            slabDead[active] += tail;
            deadBytes += tail;
        }

        int id;
        if (slabIdsFree.Count > 0)
        {
            id = slabIdsFree.Pop();
        }
        else
        {
            if (slabCount == SlabsMax)
            {
                throw new InvalidOperationException($"the key-value store is full ({SlabsMax} slabs of {SlabSize} bytes)");
            }

            if (slabCount == slabs.Length)
            {
                var size = Math.Max(4, slabs.Length * 2);
                Array.Resize(ref slabs, size);
                Array.Resize(ref slabUsed, size);
                Array.Resize(ref slabDead, size);
            }

            id = slabCount++;
        }

        slabs[id] = slabsSpare.TryPop(out var spare) ? spare : new byte[SlabSize];
        slabUsed[id] = 0;
        slabDead[id] = 0;
        slabsHeld++;
        active = id;
    }

    /// <summary>Where a record's parts are, read from its header.</summary>
    private readonly record struct Layout(int KeyStart, int KeyLength, int ValueLengthAt, int ValueLength, int Capacity, int Size)
    {
        public static Layout Of(ReadOnlySpan<byte> record)
        {
            var flags = record[0];
            var at = (flags & ExpiryFlag) != 0 ? 9 : 1;
            var keyLength = VarInt.ReadTrusted(record, ref at);
            var valueLengthAt = at;
            var valueLength = VarInt.ReadTrusted(record, ref at);
            var capacity = (flags & CapacityFlag) != 0 ? VarInt.ReadTrusted(record, ref at) : valueLength;
            var size = at + keyLength + capacity; // rounded up: slab records start on 4-byte boundaries
            return new Layout(at, keyLength, valueLengthAt, valueLength, capacity, (size + 3) & ~3);
        }
    }

    /// <summary>Orders handles by key bytes (ordinal): the order of checkpoints.</summary>
    private sealed class KeyOrder(Store store) : IComparer<int>
    {
        public int Compare(int x, int y) => store.Key(x).SequenceCompareTo(store.Key(y));
    }

    /// <summary>Orders handles of records with an expiry by expiry time, then key: the order of the expiry sweep.</summary>
    private sealed class ExpiryOrder(Store store) : IComparer<int>
    {
        public int Compare(int x, int y)
        {
            var byTime = store.ExpireAt(x).CompareTo(store.ExpireAt(y));
            return byTime != 0 ? byTime : store.Key(x).SequenceCompareTo(store.Key(y));
        }
    }
}
