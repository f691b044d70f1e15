using System.Buffers;

namespace Viewstamped;

/// <summary>
/// Collects a checkpoint as the replica writes it (the client table, then the service's state) and
/// makes it a <see cref="CheckpointState"/>. The replica's default keeps the bytes in memory, in
/// chunks; storage that implements <see cref="ICheckpointSink"/> gives builders that write straight
/// to where the checkpoint will be kept, so a large state never sits in memory as a checkpoint.
/// </summary>
/// <remarks>
/// A builder is used by one replica from one thread: written to, then either <see cref="Build"/>
/// (the replica hands the state back to storage in a <see cref="Ready.Checkpoint"/>) or
/// <see cref="Abandon"/> (a state transfer given up, or a received checkpoint that failed its
/// checksum; it may follow <see cref="Build"/>).
/// </remarks>
public abstract class CheckpointBuilder : IBufferWriter<byte>
{
    /// <summary>The bytes written so far.</summary>
    public abstract long Length { get; }

    /// <inheritdoc />
    public abstract Memory<byte> GetMemory(int sizeHint = 0);

    /// <inheritdoc />
    public virtual Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    /// <inheritdoc />
    public abstract void Advance(int count);

    /// <summary>Appends <paramref name="bytes"/>, however many.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var span = GetSpan();
            var piece = Math.Min(span.Length, bytes.Length);
            bytes[..piece].CopyTo(span);
            Advance(piece);
            bytes = bytes[piece..];
        }
    }

    /// <summary>The state written; the builder takes no more bytes afterwards.</summary>
    public abstract CheckpointState Build();

    /// <summary>Drops what was written: the checkpoint will not be used.</summary>
    public abstract void Abandon();
}

/// <summary>
/// Storage that takes checkpoints as they are written (see <see cref="CheckpointBuilder"/>). Given
/// to the <see cref="Replica"/> constructor; it is called from the replica's thread, while the
/// storage may be persisting an earlier Ready on its own.
/// </summary>
public interface ICheckpointSink
{
    /// <summary>A builder for the checkpoint at <paramref name="op"/>, taken or received from a peer.</summary>
    CheckpointBuilder Begin(OpNumber op);
}
