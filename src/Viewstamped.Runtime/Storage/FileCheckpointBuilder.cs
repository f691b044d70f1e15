using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// Writes a checkpoint straight to its file, after room for the header, through one 1 MiB buffer,
/// hashing it on the way (the core's XxHash64 and the file's salted XXH3-64), so neither the state
/// nor its hashes need a second pass. Nothing is synced here: <see cref="CheckpointFile.Write"/>
/// fills in the header and syncs the file when the Ready that carries the checkpoint is persisted.
/// </summary>
internal sealed class FileCheckpointBuilder : CheckpointBuilder
{
    private readonly string path;
    private readonly Action discard;
    private readonly XxHash64 plain = new();
    private readonly XxHash3 salted;
    private SafeFileHandle? handle;
    private byte[] buffer = new byte[CheckpointState.ChunkSize];
    private int used;
    private long flushed;

    public FileCheckpointBuilder(string path, ulong salt, Action discard)
    {
        this.path = path;
        this.discard = discard;
        salted = new XxHash3((long)salt);
        handle = File.OpenHandle(path, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Delete);
    }

    public override long Length => flushed + used;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (buffer.Length - used < sizeHint)
        {
            Flush();
            if (buffer.Length < sizeHint)
            {
                buffer = new byte[sizeHint];
            }
        }

        return buffer.AsMemory(used);
    }

    public override void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Invariant.That(count <= buffer.Length - used, "advanced past the span given");
        used += count;
    }

    public override CheckpointState Build()
    {
        Flush();
        handle?.Dispose();
        handle = null;
        return new FileCheckpointState(path, StorageLayout.CheckpointHeaderSize, flushed, plain.GetCurrentHashAsUInt64(), salted.GetCurrentHashAsUInt64());
    }

    public override void Abandon()
    {
        handle?.Dispose();
        handle = null;
        discard();
    }

    private void Flush()
    {
        if (used == 0)
        {
            return;
        }

        ObjectDisposedException.ThrowIf(handle is null, this);
        var bytes = buffer.AsSpan(0, used);
        RandomAccess.Write(handle, bytes, StorageLayout.CheckpointHeaderSize + flushed);
        plain.Append(bytes);
        salted.Append(bytes);
        flushed += used;
        used = 0;
        if (buffer.Length > CheckpointState.ChunkSize)
        {
            buffer = new byte[CheckpointState.ChunkSize]; // keep no large buffer after one large value
        }
    }
}
