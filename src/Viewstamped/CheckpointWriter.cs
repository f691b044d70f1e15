using System.Buffers;

namespace Viewstamped;

/// <summary>
/// Collects a checkpoint as it is written, in chunks of <see cref="CheckpointState.ChunkSize"/>, so
/// no array the size of the whole state is ever needed. A span asked for that does not fit the rest
/// of the current chunk is a scratch buffer, copied across the chunk boundary when advanced past.
/// </summary>
internal sealed class CheckpointWriter : IBufferWriter<byte>
{
    private readonly List<byte[]> chunks = [];
    private byte[]? current;
    private int used;
    private byte[] scratch = [];
    private bool inScratch;

    /// <summary>The bytes written so far.</summary>
    public long Length { get; private set; }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (current is null || used == current.Length)
        {
            current = new byte[CheckpointState.ChunkSize];
            chunks.Add(current);
            used = 0;
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

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!inScratch)
        {
            Invariant.That(current is not null && count <= current.Length - used, "advanced past the span given");
            used += count;
            Length += count;
            return;
        }

        inScratch = false;
        Invariant.That(count <= scratch.Length, "advanced past the span given");
        Write(scratch.AsSpan(0, count));
        if (scratch.Length > CheckpointState.ChunkSize)
        {
            scratch = []; // keep no large buffer after one large value
        }
    }

    /// <summary>Appends <paramref name="bytes"/>, filling chunks in turn.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (current is null || used == current.Length)
            {
                current = new byte[CheckpointState.ChunkSize];
                chunks.Add(current);
                used = 0;
            }

            var piece = Math.Min(bytes.Length, current.Length - used);
            bytes[..piece].CopyTo(current.AsSpan(used));
            used += piece;
            Length += piece;
            bytes = bytes[piece..];
        }
    }

    /// <summary>The state written; the writer must not be used afterwards.</summary>
    public CheckpointState ToState()
    {
        if (current is not null && used == 0)
        {
            chunks.RemoveAt(chunks.Count - 1);
        }
        else if (current is not null && used < current.Length)
        {
            chunks[^1] = current.AsSpan(0, used).ToArray();
        }

        var state = new ChunkedCheckpointState(chunks, Length);
        chunks.Clear();
        current = null;
        return state;
    }
}
