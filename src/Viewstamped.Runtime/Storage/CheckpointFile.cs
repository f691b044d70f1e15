using System.Buffers.Binary;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

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
    /// <summary>Writes the checkpoint's file and returns a state that reads it back from there.</summary>
    public static CheckpointState Write(string directory, StorageIdentity identity, ulong salt, Checkpoint checkpoint)
    {
        var state = checkpoint.State;
        var path = Path.Combine(directory, StorageLayout.CheckpointFileName(checkpoint.Op));
        var temporary = StorageLayout.CheckpointTemporaryFileName(path);
        var built = state as FileCheckpointState;
        var saltedHash = built is { SaltedHash: { } known } && built.Path == temporary ? known : (ulong?)null;
        if (saltedHash is null)
        {
            var salted = new XxHash3((long)salt);
            foreach (var segment in state.Segments())
            {
                salted.Append(segment.Span);
            }

            saltedHash = salted.GetCurrentHashAsUInt64();
        }

        Span<byte> header = stackalloc byte[StorageLayout.CheckpointHeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header, StorageLayout.CheckpointMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], StorageLayout.FormatVersion);
        header[12] = identity.Replica.Value;
        BinaryPrimitives.WriteUInt128LittleEndian(header[16..], identity.Cluster);
        BinaryPrimitives.WriteUInt64LittleEndian(header[32..], checkpoint.Op.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(header[40..], checkpoint.Checksum);
        BinaryPrimitives.WriteUInt64LittleEndian(header[48..], (ulong)state.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(header[56..], saltedHash.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(header[72..], XxHash3.HashToUInt64(header[..72], (long)salt));
        if (built is { SaltedHash: not null } && built.Path == temporary)
        {
            // Written under its temporary name by a FileCheckpointBuilder: fill in the header, make it
            // durable, then rename it into place, so a file of that name (a corrupt one being replaced
            // by a peer's copy) is never half overwritten. A crash before the log names it leaves a
            // file the next open deletes.
            using (var handle = File.OpenHandle(temporary, FileMode.Open, FileAccess.Write, FileShare.Read | FileShare.Delete))
            {
                RandomAccess.Write(handle, header, 0);
                Durability.SyncData(handle);
            }

            File.Move(temporary, path, overwrite: true);
            built.MovedTo(path);
            Durability.SyncDirectory(directory);
            return built;
        }

        Durability.WriteFileAtomically(path, header, state.Segments());
        return new FileCheckpointState(path, StorageLayout.CheckpointHeaderSize, state.Length);
    }

    /// <summary>
    /// Checks the checkpoint <paramref name="reference"/> names, reading it a chunk at a time; returns
    /// it, its state read from the file when needed, or null with the reason.
    /// </summary>
    public static Checkpoint? Read(string directory, ulong salt, CheckpointReference reference, out string? problem)
    {
        var path = Path.Combine(directory, StorageLayout.CheckpointFileName(reference.Op));
        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            problem = Check(handle, salt, reference);
        }
        catch (FileNotFoundException)
        {
            problem = $"checkpoint file {Path.GetFileName(path)} is missing";
            return null;
        }

        if (problem is not null)
        {
            problem = $"checkpoint file {Path.GetFileName(path)}: {problem}";
            return null;
        }

        return new Checkpoint(reference.Op, new FileCheckpointState(path, StorageLayout.CheckpointHeaderSize, (long)reference.Size), reference.Checksum);
    }

    private static string? Check(SafeFileHandle handle, ulong salt, CheckpointReference reference)
    {
        var fileLength = RandomAccess.GetLength(handle);
        if (fileLength < StorageLayout.CheckpointHeaderSize)
        {
            return "shorter than its header";
        }

        Span<byte> header = stackalloc byte[StorageLayout.CheckpointHeaderSize];
        FileCheckpointState.ReadExactly(handle, header, 0);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[72..]) != XxHash3.HashToUInt64(header[..72], (long)salt)
            || BinaryPrimitives.ReadUInt64LittleEndian(header) != StorageLayout.CheckpointMagic)
        {
            return "header checksum mismatch";
        }

        var stateLength = fileLength - StorageLayout.CheckpointHeaderSize;
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[32..]) != reference.Op.Value
            || BinaryPrimitives.ReadUInt64LittleEndian(header[40..]) != reference.Checksum
            || BinaryPrimitives.ReadUInt64LittleEndian(header[48..]) != reference.Size
            || (ulong)stateLength != reference.Size)
        {
            return "does not match the checkpoint the log refers to (op, checksum or size)";
        }

        var salted = new XxHash3((long)salt);
        var plain = new XxHash64();
        var buffer = new byte[(int)Math.Min(stateLength, CheckpointState.ChunkSize)];
        for (long at = 0; at < stateLength; at += buffer.Length)
        {
            var piece = buffer.AsSpan(0, (int)Math.Min(buffer.Length, stateLength - at));
            FileCheckpointState.ReadExactly(handle, piece, StorageLayout.CheckpointHeaderSize + at);
            salted.Append(piece);
            plain.Append(piece);
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(header[56..]) != salted.GetCurrentHashAsUInt64()
            || plain.GetCurrentHashAsUInt64() != reference.Checksum)
        {
            return "state checksum mismatch";
        }

        return null;
    }
}
