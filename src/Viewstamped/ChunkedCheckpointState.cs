using System.Buffers;

namespace Viewstamped;

/// <summary>A state in memory: chunks of one size, the last possibly shorter.</summary>
internal sealed class ChunkedCheckpointState : CheckpointState
{
    private readonly byte[][] chunks;
    private readonly long length;

    public ChunkedCheckpointState(IReadOnlyList<byte[]> chunks, long length)
    {
        this.chunks = [.. chunks];
        this.length = length;
        long sum = 0;
        for (var i = 0; i < this.chunks.Length; i++)
        {
            Invariant.That(i == this.chunks.Length - 1 || this.chunks[i].Length == this.chunks[0].Length, "checkpoint chunks before the last must be of one size");
            sum += this.chunks[i].Length;
        }

        Invariant.That(sum == length, $"checkpoint chunks hold {sum} bytes, not {length}");
    }

    public override long Length => length;

    public override void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        if (destination.IsEmpty)
        {
            return;
        }

        var chunkSize = chunks[0].Length;
        var index = (int)(offset / chunkSize);
        var within = (int)(offset % chunkSize);
        while (!destination.IsEmpty)
        {
            var piece = Math.Min(destination.Length, chunks[index].Length - within);
            chunks[index].AsSpan(within, piece).CopyTo(destination);
            destination = destination[piece..];
            index++;
            within = 0;
        }
    }

    public override IEnumerable<ReadOnlyMemory<byte>> Segments()
    {
        foreach (var chunk in chunks)
        {
            yield return chunk;
        }
    }

    public override ReadOnlySequence<byte> ToSequence() => Sequence(chunks);

    /// <summary>The chunks as one sequence, without copying them.</summary>
    public static ReadOnlySequence<byte> Sequence(IReadOnlyList<byte[]> chunks)
    {
        if (chunks.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        if (chunks.Count == 1)
        {
            return new ReadOnlySequence<byte>(chunks[0]);
        }

        var first = new Segment(chunks[0], 0);
        var last = first;
        for (var i = 1; i < chunks.Count; i++)
        {
            last = last.Append(chunks[i]);
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
