using Microsoft.Win32.SafeHandles;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// A checkpoint's state read from its file (the bytes after the header), so a replica need not keep
/// its latest checkpoint in memory. The file storage keeps the file as long as the checkpoint is the
/// current or the previous one, and the replica reads only its latest; each read opens the file.
/// </summary>
internal sealed class FileCheckpointState(string path, long start, long length) : CheckpointState
{
    public override long Length => length;

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
