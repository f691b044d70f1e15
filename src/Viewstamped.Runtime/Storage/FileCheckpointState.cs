using Microsoft.Win32.SafeHandles;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// A checkpoint's state read from its file (the bytes after the header), so a replica need not keep
/// its latest checkpoint in memory. The file storage keeps the file as long as the checkpoint is the
/// current or the previous one, and the replica reads only its latest; each read opens the file.
/// </summary>
/// <param name="path">The checkpoint file.</param>
/// <param name="start">Where the state starts in the file.</param>
/// <param name="length">The state's length.</param>
/// <param name="checksum">The state's XxHash64, when the writer computed it on the way.</param>
/// <param name="saltedHash">The state's XXH3-64 with the storage's salt, when the writer computed it on the way.</param>
internal sealed class FileCheckpointState(string path, long start, long length, ulong? checksum = null, ulong? saltedHash = null) : CheckpointState
{
    private volatile string path = path;

    public string Path => path;

    /// <summary>Known for a state a <see cref="FileCheckpointBuilder"/> wrote: its header is still blank.</summary>
    public ulong? SaltedHash => saltedHash;

    public override long Length => length;

    /// <summary>The file was renamed (from its temporary name into place): read it from <paramref name="renamed"/> from now on.</summary>
    public void MovedTo(string renamed) => path = renamed;

    public override void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        using var handle = Open();
        ReadExactly(handle, destination, start + offset);
    }

    public override IEnumerable<ReadOnlyMemory<byte>> Segments()
    {
        using var handle = Open();
        var buffer = new byte[(int)Math.Min(length, ChunkSize)];
        for (long at = 0; at < length; at += buffer.Length)
        {
            var piece = (int)Math.Min(buffer.Length, length - at);
            ReadExactly(handle, buffer.AsSpan(0, piece), start + at);
            yield return buffer.AsMemory(0, piece);
        }
    }

    public override ulong ComputeChecksum() => checksum ?? base.ComputeChecksum();

    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; a file that ends first is an error.</summary>
    public static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        while (!destination.IsEmpty)
        {
            var read = RandomAccess.Read(handle, destination, offset);
            if (read == 0)
            {
                throw new IOException($"the file ends at {offset}, before the bytes expected");
            }

            destination = destination[read..];
            offset += read;
        }
    }

    private SafeFileHandle Open() => File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
}
