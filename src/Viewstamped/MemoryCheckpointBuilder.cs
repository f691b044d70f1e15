namespace Viewstamped;

/// <summary>
/// Collects a checkpoint in memory, in chunks of <see cref="CheckpointState.ChunkSize"/>, so no array
/// the size of the whole state is ever needed. A span asked for that does not fit the rest of the
/// current chunk is a scratch buffer, copied across the chunk boundary when advanced past.
/// </summary>
internal sealed class MemoryCheckpointBuilder : CheckpointBuilder
{
    private const int FirstChunkSize = 4096;
    private readonly List<byte[]> chunks = [];
    private byte[]? current;
    private int used;
    private byte[] scratch = [];
    private bool inScratch;
    private long length;

    public override long Length => length;

    private bool CanGrow => chunks.Count == 1 && current!.Length < CheckpointState.ChunkSize;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        while (current is null || used == current.Length || (CanGrow && current.Length - used < sizeHint))
        {
            NextChunk();
        }

        if (current.Length - used >= sizeHint)
        {
            inScratch = false;
            return current.AsMemory(used);
        }

        if (scratch.Length < sizeHint)
        {
            scratch = new byte[sizeHint];
        }

        inScratch = true;
        return scratch.AsMemory(0, sizeHint);
    }

    /// <summary>
    /// Makes room for more bytes. The first chunk starts small and doubles (copied) up to the chunk
    /// size, so a small state costs a small array rather than a whole chunk; later chunks are full size.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.MemberNotNull(nameof(current))]
    private void NextChunk()
    {
        if (current is null)
        {
            current = new byte[Math.Min(FirstChunkSize, CheckpointState.ChunkSize)];
            chunks.Add(current);
            used = 0;
        }
        else if (CanGrow)
        {
            var grown = new byte[Math.Min(current.Length * 2, CheckpointState.ChunkSize)];
            current.AsSpan(0, used).CopyTo(grown);
            current = grown;
            chunks[0] = grown;
        }
        else
        {
            current = new byte[CheckpointState.ChunkSize];
            chunks.Add(current);
            used = 0;
        }
    }

    public override void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!inScratch)
        {
            Invariant.That(current is not null && count <= current.Length - used, "advanced past the span given");
            used += count;
            length += count;
            return;
        }

        inScratch = false;
        Invariant.That(count <= scratch.Length, "advanced past the span given");
        var spilled = scratch;
        Write(spilled.AsSpan(0, count));
        if (spilled.Length > CheckpointState.ChunkSize)
        {
            scratch = []; // keep no large buffer after one large value
        }
    }

    public override CheckpointState Build()
    {
        if (current is not null && used == 0)
        {
            chunks.RemoveAt(chunks.Count - 1);
        }
        else if (current is not null && used < current.Length)
        {
            chunks[^1] = current.AsSpan(0, used).ToArray();
        }

        var state = new ChunkedCheckpointState(chunks, length);
        chunks.Clear();
        current = null;
        return state;
    }

    public override void Abandon()
    {
        chunks.Clear();
        current = null;
    }
}
