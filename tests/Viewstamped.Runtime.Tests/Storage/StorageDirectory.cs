using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>A formatted data directory under the temporary folder, deleted when disposed, with tools to damage its files.</summary>
internal sealed class StorageDirectory : IDisposable
{
    public static readonly UInt128 Cluster = new(0x5EED_0000_0000_0000, 1);
    public static readonly ReplicaIndex Replica = new(1);
    public static readonly string[] Configuration = ["10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"];

    private readonly List<FileStorage> open = [];

    public StorageDirectory(bool format = true)
    {
        Path = StorageTestData.TemporaryDirectory("storage");
        if (format)
        {
            FileStorage.Format(Path, Identity);
        }
    }

    public static StorageIdentity Identity => new(Cluster, Replica, Configuration);

    public string Path { get; }

    public FileStorage Open(long segmentSize = 64 * 1024 * 1024) => Open(new FileStorageOptions { SegmentSizeBytes = segmentSize });

    public FileStorage Open(FileStorageOptions options)
    {
        var storage = FileStorage.Open(Path, Cluster, Replica, options);
        open.Add(storage);
        return storage;
    }

    public FileStorage Reopen(FileStorage storage, long segmentSize = 64 * 1024 * 1024)
    {
        storage.Dispose();
        return Open(segmentSize);
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string[] Segments() => Directory.GetFiles(Path, "log-*.wal").Order(StringComparer.Ordinal).ToArray();

    public string[] Checkpoints() => Directory.GetFiles(Path, "checkpoint-*.ckpt").Select(System.IO.Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    /// <summary>Every file's name and bytes, to prove a refused open changed nothing.</summary>
    public Dictionary<string, byte[]> Snapshot() =>
        Directory.Exists(Path) ? Directory.GetFiles(Path).ToDictionary(f => System.IO.Path.GetFileName(f), System.IO.File.ReadAllBytes) : [];

    public void AssertUnchangedSince(Dictionary<string, byte[]> before)
    {
        var after = Snapshot();
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
        }
    }

    /// <summary>Every record in the log files, in order: file, offset, header.</summary>
    public List<(string File, long Offset, RecordHeader Header)> Records()
    {
        var salt = StorageLayout.Salt(Cluster, Replica);
        var records = new List<(string, long, RecordHeader)>();
        foreach (var segment in Segments())
        {
            var data = System.IO.File.ReadAllBytes(segment);
            var offset = StorageLayout.SegmentHeaderSize;
            while (offset + StorageLayout.RecordHeaderSize <= data.Length && RecordHeader.TryRead(data.AsSpan(offset), salt, out var header))
            {
                records.Add((segment, offset, header));
                offset += header.RecordLength;
            }
        }

        return records;
    }

    /// <summary>The entry record of <paramref name="op"/> (the last one written for it).</summary>
    public (string File, long Offset, RecordHeader Header) EntryRecord(ulong op) =>
        Records().Last(r => r.Header.Type == RecordType.Entry && r.Header.Op.Value == op);

    /// <summary>
    /// Zeroes the slot of the newest summary in the batch ring, as a power failure before the summary
    /// reached the disk leaves it: a batch being written when the power failed never has one. Returns
    /// the summary forgotten.
    /// </summary>
    public BatchSummary ForgetNewestSummary()
    {
        var salt = StorageLayout.Salt(Cluster, Replica);
        var newest = BatchRing.ReadNewest(Path, salt) ?? throw new InvalidOperationException("the batch ring holds no summary");
        using var stream = new FileStream(File(StorageLayout.BatchRingFileName), FileMode.Open, FileAccess.ReadWrite);
        stream.Position = (long)(newest.Batch % BatchRing.Slots) * BatchRing.SlotSize;
        stream.Write(new byte[BatchRing.SlotSize]);
        return newest;
    }

    /// <summary>
    /// Clears the clean-close mark from every superblock copy, leaving what a power cut before the close
    /// leaves: the superblock as the last write after opening left it.
    /// </summary>
    public void ForgetCleanClose()
    {
        for (var copy = 0; copy < StorageLayout.SuperblockCopies; copy++)
        {
            EditSuperblockCopy(copy, slot => slot[50] &= unchecked((byte)~4));
        }
    }

    /// <summary>Zeroes <paramref name="file"/> from <paramref name="offset"/> to its end: a write that never landed reads back so.</summary>
    public static void ZeroFrom(string file, long offset)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        var length = stream.Length;
        stream.Position = offset;
        stream.Write(new byte[length - offset]);
    }

    public static void FlipByte(string file, long offset)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0x5A));
    }

    /// <summary>Rewrites superblock copy <paramref name="copy"/> with <paramref name="edit"/> applied and a valid checksum.</summary>
    public void EditSuperblockCopy(int copy, Action<byte[]> edit)
    {
        var file = File(StorageLayout.SuperblockFileName);
        var bytes = System.IO.File.ReadAllBytes(file);
        var slot = bytes.AsSpan(copy * StorageLayout.SuperblockSlotSize, StorageLayout.SuperblockSlotSize).ToArray();
        edit(slot);
        BinaryPrimitives.WriteUInt64LittleEndian(slot, XxHash3.HashToUInt64(slot.AsSpan(8)));
        slot.CopyTo(bytes, copy * StorageLayout.SuperblockSlotSize);
        System.IO.File.WriteAllBytes(file, bytes);
    }

    public void Dispose()
    {
        foreach (var storage in open)
        {
            storage.Dispose();
        }

        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}
