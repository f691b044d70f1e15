using System.Buffers.Binary;
using System.IO.Hashing;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// The 64-byte header at the start of every log segment file:
/// <code>
///  0 u64 checksum: XXH3-64 (seed 0) of bytes 8..63
///  8 u64 magic "VSRLOG01"     16 u32 format version     20 u8 replica index     21..23 zero
/// 24 u128 cluster id          40 u64 segment number     48 u64 sequence number of its first record     56 u64 zero
/// </code>
/// </summary>
internal static class SegmentHeader
{
    public static byte[] Encode(StorageIdentity identity, ulong segment, ulong firstSeq)
    {
        var header = new byte[StorageLayout.SegmentHeaderSize];
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), StorageLayout.SegmentMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), StorageLayout.FormatVersion);
        header[20] = identity.Replica.Value;
        BinaryPrimitives.WriteUInt128LittleEndian(header.AsSpan(24), identity.Cluster);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(40), segment);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(48), firstSeq);
        BinaryPrimitives.WriteUInt64LittleEndian(header, XxHash3.HashToUInt64(header.AsSpan(8)));
        return header;
    }

    /// <summary>Returns what is wrong with a segment's header, or null.</summary>
    public static string? Check(ReadOnlySpan<byte> data, StorageIdentity identity, ulong segment)
    {
        if (data.Length < StorageLayout.SegmentHeaderSize)
        {
            return $"file is {data.Length} bytes, shorter than its header";
        }

        var header = data[..StorageLayout.SegmentHeaderSize];
        if (BinaryPrimitives.ReadUInt64LittleEndian(header) != XxHash3.HashToUInt64(header[8..]))
        {
            return "header checksum mismatch";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header[8..]) != StorageLayout.SegmentMagic)
        {
            return "not a log segment (bad magic)";
        }

        var version = BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
        if (version != StorageLayout.FormatVersion)
        {
            return $"format version {version}";
        }

        var cluster = BinaryPrimitives.ReadUInt128LittleEndian(header[24..]);
        if (cluster != identity.Cluster || header[20] != identity.Replica.Value)
        {
            return $"belongs to cluster {StorageIdentity.FormatCluster(cluster)} replica {header[20]}";
        }

        var number = BinaryPrimitives.ReadUInt64LittleEndian(header[40..]);
        return number != segment ? $"header says segment {number} (a misplaced file)" : null;
    }
}
