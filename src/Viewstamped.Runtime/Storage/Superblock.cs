using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Viewstamped.Runtime.Storage;

/// <summary>Where a checkpoint file is and what it must hold: its op, the core's XxHash64 of the state, and its size.</summary>
internal readonly record struct CheckpointReference(OpNumber Op, ulong Checksum, ulong Size);

/// <summary>Where replay of the write-ahead log starts: the oldest kept segment and the log state just before it.</summary>
internal readonly record struct WalBase(ulong Segment, ulong FirstSeq, ulong FirstBatch, OpNumber Head, ulong PrevChecksum)
{
    public static readonly WalBase Initial = new(1, 1, 1, OpNumber.Zero, 0);
}

/// <summary>The contents of one superblock copy.</summary>
internal sealed record SuperblockState(
    ulong Sequence,
    StorageIdentity Identity,
    uint Epoch,
    HardState HardState,
    ulong WalSeq,
    WalBase Base,
    CheckpointReference? Current,
    CheckpointReference? Previous)
{
    /// <summary>
    /// The machine's boot id when the log was last opened for writing (<see cref="FileStorageOptions.BootId"/>);
    /// empty when unknown (a directory written before it was recorded, or a machine without one).
    /// </summary>
    public Guid BootId { get; init; }

    /// <summary>
    /// Set by a graceful close after its final sync, cleared before the first write after opening: the log
    /// then ended at record <see cref="CleanSeq"/> and nothing was written after it.
    /// </summary>
    public bool ClosedCleanly { get; init; }

    /// <summary>The sequence number of the log's last record at the clean close (meaningful when <see cref="ClosedCleanly"/>).</summary>
    public ulong CleanSeq { get; init; }
}

/// <summary>What reading the superblock copies found.</summary>
internal sealed record SuperblockRead(SuperblockState State, int ValidCopies, IReadOnlyList<string> Problems);

/// <summary>
/// The superblock: <see cref="StorageLayout.SuperblockCopies"/> copies of the same record in one file,
/// each in its own 16 KiB slot with a checksum, its slot number and a sequence number. An update
/// writes the copies one at a time with an fsync after each, so a power failure tears at most one
/// copy; reading takes the valid copy with the highest sequence, so a torn, corrupt or misdirected
/// copy is outvoted and never trusted.
/// </summary>
internal static class Superblock
{
    private const int ChecksumOffset = 0;

    /// <summary>Bit 0 of byte 50: the hard state's <see cref="HardState.LogDamaged"/>.</summary>
    private const byte LogDamagedFlag = 1;

    /// <summary>Bit 1 of byte 50: the hard state's <see cref="HardState.TailUncertain"/>.</summary>
    private const byte TailUncertainFlag = 2;

    /// <summary>Bit 2 of byte 50: <see cref="SuperblockState.ClosedCleanly"/>.</summary>
    private const byte ClosedCleanlyFlag = 4;

    /// <summary>
    /// Where the boot id and the clean close's sequence number go: after the 33 bytes reserved for the cluster
    /// key at 192, in bytes that directories written before them hold as zeros (no boot id, not closed cleanly).
    /// </summary>
    private const int BootIdOffset = 232;
    private const int CleanSeqOffset = 248;
    private const int ConfigurationOffset = 256;
    private const int ConfigurationLengthMax = StorageLayout.SuperblockSlotSize - ConfigurationOffset - 2;

    public static int FileSize => StorageLayout.SuperblockCopies * StorageLayout.SuperblockSlotSize;

    /// <summary>Returns why <paramref name="identity"/> cannot be stored, or null.</summary>
    public static string? CheckFits(StorageIdentity identity)
    {
        var length = Encoding.ASCII.GetByteCount(string.Join(',', identity.Configuration));
        return length > ConfigurationLengthMax ? $"the configuration is {length} bytes; at most {ConfigurationLengthMax} fit in the superblock" : null;
    }

    /// <summary>Encodes every copy of <paramref name="state"/>, slot by slot.</summary>
    public static byte[] EncodeFile(SuperblockState state)
    {
        var file = new byte[FileSize];
        for (var copy = 0; copy < StorageLayout.SuperblockCopies; copy++)
        {
            Encode(state, copy, file.AsSpan(copy * StorageLayout.SuperblockSlotSize, StorageLayout.SuperblockSlotSize));
        }

        return file;
    }

    /// <summary>Writes <paramref name="state"/> over every copy, one at a time, with an fsync after each.</summary>
    /// <returns>The number of fsyncs done.</returns>
    public static int Write(SafeFileHandle handle, SuperblockState state)
    {
        var slot = new byte[StorageLayout.SuperblockSlotSize];
        for (var copy = 0; copy < StorageLayout.SuperblockCopies; copy++)
        {
            Encode(state, copy, slot);
            RandomAccess.Write(handle, slot, (long)copy * StorageLayout.SuperblockSlotSize);
            Durability.SyncData(handle);
        }

        return StorageLayout.SuperblockCopies;
    }

    /// <summary>Reads every copy and picks the one to trust; throws <see cref="StorageException"/> when none can be.</summary>
    public static SuperblockRead Read(SafeFileHandle handle, string path)
    {
        var file = new byte[Math.Min(RandomAccess.GetLength(handle), FileSize)];
        var read = 0;
        while (read < file.Length)
        {
            var n = RandomAccess.Read(handle, file.AsSpan(read), read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        var problems = new List<string>();
        var valid = new List<(int Copy, SuperblockState State, byte[] Bytes)>();
        uint? foreignVersion = null;
        for (var copy = 0; copy < StorageLayout.SuperblockCopies; copy++)
        {
            var start = copy * StorageLayout.SuperblockSlotSize;
            if (file.Length < start + StorageLayout.SuperblockSlotSize)
            {
                problems.Add($"superblock copy {copy} is missing (file is {file.Length} bytes)");
                continue;
            }

            var slot = file.AsSpan(start, StorageLayout.SuperblockSlotSize);
            var problem = Decode(slot, copy, out var state, out var version);
            if (problem is not null)
            {
                problems.Add($"superblock copy {copy}: {problem}");
                if (version is { } v && v != StorageLayout.FormatVersion)
                {
                    foreignVersion = v;
                }

                continue;
            }

            valid.Add((copy, state!, slot[24..].ToArray()));
        }

        if (foreignVersion is { } futureVersion && valid.Count == 0)
        {
            throw new StorageException(StorageError.UnsupportedVersion,
                $"'{Path.GetDirectoryName(path)}' was written in storage format version {futureVersion}; this build reads only version {StorageLayout.FormatVersion}");
        }

        if (valid.Count == 0)
        {
            throw new StorageException(StorageError.SuperblockUnreadable,
                $"every superblock copy in '{path}' is unreadable, so nothing in the directory can be trusted: {string.Join("; ", problems)}");
        }

        var best = valid.MaxBy(v => v.State.Sequence);
        foreach (var other in valid)
        {
            if (other.State.Sequence == best.State.Sequence && !EqualExceptCopyIndex(other.Bytes, best.Bytes))
            {
                throw new StorageException(StorageError.Corrupt,
                    $"superblock copies {best.Copy} and {other.Copy} both have sequence {best.State.Sequence} but differ; refusing to guess");
            }
        }

        foreach (var other in valid)
        {
            if (other.State.Sequence < best.State.Sequence)
            {
                problems.Add($"superblock copy {other.Copy} is stale (sequence {other.State.Sequence}, newest {best.State.Sequence})");
            }
        }

        return new SuperblockRead(best.State, valid.Count(v => v.State.Sequence == best.State.Sequence), problems);
    }

    private static bool EqualExceptCopyIndex(byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b);

    private static void Encode(SuperblockState state, int copy, Span<byte> slot)
    {
        slot.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(slot[8..], StorageLayout.SuperblockMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[16..], StorageLayout.FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[20..], (uint)copy);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[24..], state.Sequence);
        BinaryPrimitives.WriteUInt128LittleEndian(slot[32..], state.Identity.Cluster);
        slot[48] = state.Identity.Replica.Value;
        slot[49] = (byte)state.Identity.ReplicaCount;
        slot[50] = (byte)((state.HardState.LogDamaged ? LogDamagedFlag : 0) | (state.HardState.TailUncertain ? TailUncertainFlag : 0)
            | (state.ClosedCleanly ? ClosedCleanlyFlag : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(slot[52..], state.Epoch);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[56..], state.HardState.View.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[64..], state.HardState.LogView.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[72..], state.HardState.CommitNumber.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[80..], state.WalSeq);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[88..], state.Base.Segment);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[96..], state.Base.FirstSeq);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[104..], state.Base.FirstBatch);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[112..], state.Base.Head.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[120..], state.Base.PrevChecksum);
        EncodeReference(state.Current, slot[128..]);
        EncodeReference(state.Previous, slot[160..]);

        // 192..231: reserved for the cluster key of the network layer (kind byte, then a 32-byte fingerprint); zero means none.
        state.BootId.TryWriteBytes(slot[BootIdOffset..]);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[CleanSeqOffset..], state.CleanSeq);
        var configuration = Encoding.ASCII.GetBytes(string.Join(',', state.Identity.Configuration));
        BinaryPrimitives.WriteUInt16LittleEndian(slot[ConfigurationOffset..], (ushort)configuration.Length);
        configuration.CopyTo(slot[(ConfigurationOffset + 2)..]);
        BinaryPrimitives.WriteUInt64LittleEndian(slot[ChecksumOffset..], XxHash3.HashToUInt64(slot[8..]));
    }

    private static string? Decode(ReadOnlySpan<byte> slot, int copy, out SuperblockState? state, out uint? version)
    {
        state = null;
        version = null;
        if (BinaryPrimitives.ReadUInt64LittleEndian(slot[ChecksumOffset..]) != XxHash3.HashToUInt64(slot[8..]))
        {
            return slot.ContainsAnyExcept((byte)0) ? "checksum mismatch (torn or corrupt)" : "all zeros (never written)";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(slot[8..]) != StorageLayout.SuperblockMagic)
        {
            return "not a superblock (bad magic)";
        }

        version = BinaryPrimitives.ReadUInt32LittleEndian(slot[16..]);
        if (version != StorageLayout.FormatVersion)
        {
            return $"format version {version}, expected {StorageLayout.FormatVersion}";
        }

        var slotCopy = BinaryPrimitives.ReadUInt32LittleEndian(slot[20..]);
        if (slotCopy != copy)
        {
            return $"holds copy {slotCopy} (a misdirected write)";
        }

        var configurationLength = BinaryPrimitives.ReadUInt16LittleEndian(slot[ConfigurationOffset..]);
        if (configurationLength > ConfigurationLengthMax)
        {
            return "configuration length out of range";
        }

        var configuration = Encoding.ASCII.GetString(slot.Slice(ConfigurationOffset + 2, configurationLength)).Split(',');
        StorageIdentity identity;
        try
        {
            identity = new StorageIdentity(
                BinaryPrimitives.ReadUInt128LittleEndian(slot[32..]), new ReplicaIndex(slot[48]), configuration);
        }
        catch (StorageException e)
        {
            return $"invalid identity: {e.Message}";
        }

        if (identity.ReplicaCount != slot[49])
        {
            return "replica count disagrees with the configuration";
        }

        state = new SuperblockState(
            BinaryPrimitives.ReadUInt64LittleEndian(slot[24..]),
            identity,
            BinaryPrimitives.ReadUInt32LittleEndian(slot[52..]),
            new HardState(
                new View(BinaryPrimitives.ReadUInt64LittleEndian(slot[56..])),
                new View(BinaryPrimitives.ReadUInt64LittleEndian(slot[64..])),
                new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(slot[72..])))
            {
                LogDamaged = (slot[50] & LogDamagedFlag) != 0,
                TailUncertain = (slot[50] & TailUncertainFlag) != 0,
            },
            BinaryPrimitives.ReadUInt64LittleEndian(slot[80..]),
            new WalBase(
                BinaryPrimitives.ReadUInt64LittleEndian(slot[88..]),
                BinaryPrimitives.ReadUInt64LittleEndian(slot[96..]),
                BinaryPrimitives.ReadUInt64LittleEndian(slot[104..]),
                new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(slot[112..])),
                BinaryPrimitives.ReadUInt64LittleEndian(slot[120..])),
            DecodeReference(slot[128..]),
            DecodeReference(slot[160..]))
        {
            BootId = new Guid(slot.Slice(BootIdOffset, 16)),
            ClosedCleanly = (slot[50] & ClosedCleanlyFlag) != 0,
            CleanSeq = BinaryPrimitives.ReadUInt64LittleEndian(slot[CleanSeqOffset..]),
        };
        return null;
    }

    private static void EncodeReference(CheckpointReference? reference, Span<byte> destination)
    {
        if (reference is { } r)
        {
            destination[0] = 1;
            BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], r.Op.Value);
            BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], r.Checksum);
            BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], r.Size);
        }
    }

    private static CheckpointReference? DecodeReference(ReadOnlySpan<byte> source) =>
        source[0] == 1
            ? new CheckpointReference(
                new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(source[8..])),
                BinaryPrimitives.ReadUInt64LittleEndian(source[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(source[24..]))
            : null;
}
