using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;

namespace Viewstamped.Runtime.Storage;

/// <summary>File names, sizes and magic numbers of a data directory; docs/storage.md describes every layout.</summary>
internal static class StorageLayout
{
    /// <summary>The only on-disk format version this build reads and writes.</summary>
    public const uint FormatVersion = 1;

    public const string SuperblockFileName = "superblock";

    /// <summary>The ring of batch summaries (<see cref="BatchRing"/>).</summary>
    public const string BatchRingFileName = "batch-ring";
    public const int SuperblockCopies = 4;
    public const int SuperblockSlotSize = 16384;
    public const int SegmentHeaderSize = 64;
    public const int RecordHeaderSize = 64;
    public const int CheckpointHeaderSize = 80;

    /// <summary>The largest record body: a log entry of 64 MiB would not fit any message anyway.</summary>
    public const int RecordBodyMax = 256 * 1024 * 1024;

    public static readonly ulong SuperblockMagic = Magic("VSRSUPER"u8);
    public static readonly ulong SegmentMagic = Magic("VSRLOG01"u8);
    public static readonly ulong CheckpointMagic = Magic("VSRCKPT1"u8);
    public static readonly uint RecordMagic = BinaryPrimitives.ReadUInt32LittleEndian("VREC"u8);

    public static string SegmentFileName(ulong segment) => $"log-{segment.ToString("D10", CultureInfo.InvariantCulture)}.wal";

    public static bool TryParseSegmentFileName(string fileName, out ulong segment)
    {
        segment = 0;
        return fileName.StartsWith("log-", StringComparison.Ordinal) && fileName.EndsWith(".wal", StringComparison.Ordinal)
            && ulong.TryParse(fileName.AsSpan(4, fileName.Length - 8), NumberStyles.None, CultureInfo.InvariantCulture, out segment);
    }

    public static string CheckpointFileName(OpNumber op) => $"checkpoint-{op.Value.ToString("D20", CultureInfo.InvariantCulture)}.ckpt";

    /// <summary>Where a checkpoint file is written before it is synced and renamed to <paramref name="path"/>.</summary>
    public static string CheckpointTemporaryFileName(string path) => path + ".tmp";

    public static bool TryParseCheckpointFileName(string fileName, out OpNumber op)
    {
        op = default;
        if (fileName.StartsWith("checkpoint-", StringComparison.Ordinal) && fileName.EndsWith(".ckpt", StringComparison.Ordinal)
            && ulong.TryParse(fileName.AsSpan(11, fileName.Length - 16), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            op = new OpNumber(value);
            return true;
        }

        return false;
    }

    /// <summary>
    /// The seed of every record checksum: a hash of the cluster id and replica index, so a record copied
    /// from another replica's or another cluster's log fails its checksum here.
    /// </summary>
    public static ulong Salt(UInt128 cluster, ReplicaIndex replica)
    {
        Span<byte> bytes = stackalloc byte[17];
        BinaryPrimitives.WriteUInt128LittleEndian(bytes, cluster);
        bytes[16] = replica.Value;
        return XxHash3.HashToUInt64(bytes);
    }

    public static int Align8(int length) => (length + 7) & ~7;

    private static ulong Magic(ReadOnlySpan<byte> ascii) => BinaryPrimitives.ReadUInt64LittleEndian(ascii);
}
