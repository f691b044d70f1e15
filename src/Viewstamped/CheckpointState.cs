using System.Buffers;
using System.IO.Hashing;

namespace Viewstamped;

/// <summary>
/// The bytes of a checkpoint: the client table and the service's state. Never one array: a state of
/// hundreds of megabytes in one array is a large-object-heap block the size of the state, and a
/// replica would keep one for as long as the checkpoint is its latest. The replica's own checkpoints
/// are held in chunks of <see cref="ChunkSize"/> bytes; storage that has written a checkpoint may
/// hand back a state that reads it from there (<see cref="Checkpoint.ReplaceState"/>), so the memory
/// copy goes once the checkpoint is durable.
/// </summary>
/// <remarks>
/// A state is immutable and may be read from any thread. The replica reads it only to serve a
/// peer's state transfer (a chunk at a time), to restore from it, and to check its checksum.
/// </remarks>
public abstract class CheckpointState
{
    /// <summary>The size of the chunks the replica writes checkpoints in: 1 MiB.</summary>
    public const int ChunkSize = 1 << 20;

    /// <summary>The length of the state in bytes.</summary>
    public abstract long Length { get; }

    /// <summary>Copies the <c>destination.Length</c> bytes that start at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the state.</exception>
    public abstract void Read(long offset, Span<byte> destination);

    /// <summary>
    /// The bytes in order, a segment at a time. The default reads <see cref="ChunkSize"/> bytes at a
    /// time into one buffer, so a segment is valid only until the next is asked for.
    /// </summary>
    public virtual IEnumerable<ReadOnlyMemory<byte>> Segments()
    {
        var buffer = new byte[(int)Math.Min(Length, ChunkSize)];
        for (long at = 0; at < Length; at += buffer.Length)
        {
            var length = (int)Math.Min(buffer.Length, Length - at);
            Read(at, buffer.AsSpan(0, length));
            yield return buffer.AsMemory(0, length);
        }
    }

    /// <summary>The whole state in memory, in chunks (a state held elsewhere is read in).</summary>
    public virtual ReadOnlySequence<byte> ToSequence()
    {
        var chunks = new List<byte[]>();
        foreach (var segment in Segments())
        {
            chunks.Add(segment.ToArray());
        }

        return ChunkedCheckpointState.Sequence(chunks);
    }

    /// <summary>The whole state in one new array; for small states and tests.</summary>
    public byte[] ToArray()
    {
        if (Length > Array.MaxLength)
        {
            throw new InvalidOperationException($"a state of {Length} bytes does not fit one array");
        }

        var bytes = new byte[Length];
        Read(0, bytes);
        return bytes;
    }

    /// <summary>The XxHash64 of the bytes, the checksum a <see cref="Checkpoint"/> carries.</summary>
    public virtual ulong ComputeChecksum()
    {
        var hash = new XxHash64();
        foreach (var segment in Segments())
        {
            hash.Append(segment.Span);
        }

        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>A state held in <paramref name="bytes"/>, which must not change afterwards.</summary>
    public static CheckpointState FromBytes(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return new ChunkedCheckpointState(bytes.Length == 0 ? [] : [bytes], bytes.Length);
    }

    /// <summary>Throws unless <c>[offset, offset + length)</c> lies inside the state.</summary>
    protected void CheckRange(long offset, int length)
    {
        if (offset < 0 || offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"bytes {offset}..{offset + length} are not inside a state of {Length} bytes");
        }
    }
}
