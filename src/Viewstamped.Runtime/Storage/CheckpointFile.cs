using System.Buffers.Binary;
using System.IO.Hashing;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// A checkpoint file, <c>checkpoint-OP.ckpt</c>: an 80-byte header, then the state bytes.
/// <code>
///  0 u64 magic "VSRCKPT1"    8 u32 format version    12 u8 replica index    13..15 zero
/// 16 u128 cluster id        32 u64 op                40 u64 XxHash64 of the state (the core's checksum)
/// 48 u64 state length       56 u64 XXH3-64 (seed = salt) of the state        64 u64 zero
/// 72 u64 XXH3-64 (seed = salt) of bytes 0..71
/// </code>
/// It is written to a temporary name, fsynced, renamed into place and the directory fsynced, and only
/// then referenced from the log and the superblock.
/// </summary>
internal static class CheckpointFile
{
    public static void Write(string directory, StorageIdentity identity, ulong salt, Checkpoint checkpoint)
    {
        Span<byte> header = stackalloc byte[StorageLayout.CheckpointHeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, StorageLayout.CheckpointMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], StorageLayout.FormatVersion);
        header[12] = identity.Replica.Value;
        BinaryPrimitives.WriteUInt128LittleEndian(header[16..], identity.Cluster);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], checkpoint.Op.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], checkpoint.Checksum);
        BinaryPrimitives.WriteUInt64LittleEndian(header[48..], (ulong)checkpoint.State.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[56..], XxHash3.HashToUInt64(checkpoint.State, (long)salt));
        BinaryPrimitives.WriteUInt64LittleEndian(header[72..], XxHash3.HashToUInt64(header[..72], (long)salt));
        Durability.WriteFileAtomically(Path.Combine(directory, StorageLayout.CheckpointFileName(checkpoint.Op)), header, checkpoint.State);
    }

    /// <summary>Reads and checks the checkpoint <paramref name="reference"/> names; returns it, or null with the reason.</summary>
    public static Checkpoint? Read(string directory, ulong salt, CheckpointReference reference, out string? problem)
    {
        var path = Path.Combine(directory, StorageLayout.CheckpointFileName(reference.Op));
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            problem = $"checkpoint file {Path.GetFileName(path)} is missing";
            return null;
        }

        problem = Check(file, salt, reference);
        if (problem is not null)
        {
            problem = $"checkpoint file {Path.GetFileName(path)}: {problem}";
            return null;
        }

        return new Checkpoint(reference.Op, file.AsSpan(StorageLayout.CheckpointHeaderSize).ToArray(), reference.Checksum);
    }

    private static string? Check(ReadOnlySpan<byte> file, ulong salt, CheckpointReference reference)
    {
        if (file.Length < StorageLayout.CheckpointHeaderSize)
        {
            return "shorter than its header";
        }

        var header = file[..StorageLayout.CheckpointHeaderSize];
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[72..]) != XxHash3.HashToUInt64(header[..72], (long)salt)
            || BinaryPrimitives.ReadUInt64LittleEndian(header) != StorageLayout.CheckpointMagic)
        {
            return "header checksum mismatch";
        }

        var state = file[StorageLayout.CheckpointHeaderSize..];
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[32..]) != reference.Op.Value
            || BinaryPrimitives.ReadUInt64LittleEndian(header[40..]) != reference.Checksum
            || BinaryPrimitives.ReadUInt64LittleEndian(header[48..]) != reference.Size
            || (ulong)state.Length != reference.Size)
        {
            return "does not match the checkpoint the log refers to (op, checksum or size)";
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header[56..]) != XxHash3.HashToUInt64(state, (long)salt)
            || XxHash64.HashToUInt64(state) != reference.Checksum)
        {
            return "state checksum mismatch";
        }

        return null;
    }
}
