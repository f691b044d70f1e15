using System.Buffers;
using Viewstamped.Codec;
using Viewstamped.Messages;

namespace Viewstamped.Runtime.Transport;

/// <summary>
/// One encoded frame on its way out, shared by every connection it goes to. Its bytes live in a
/// buffer rented from a pool, so a frame of several megabytes (a DoViewChange or StartView with a
/// long log suffix, a state transfer) does not leave a dead array on the large object heap behind
/// every view change. References are counted: the encoder holds one, each connection queue that
/// accepts the frame takes one and gives it back once the bytes are copied into its socket buffer
/// (or the frame is dropped), and the last one returns the buffer to the pool.
/// </summary>
/// <remarks>
/// A frame that is never released (its connection died with it queued) is simply collected: a pool
/// only loses a buffer. Releasing more often than retaining is a bug and throws; the buffer goes
/// back to the pool at most once whatever happens, so two frames never share one.
/// </remarks>
internal sealed class OutboundFrame
{
    private readonly ArrayPool<byte>? pool;
    private byte[]? buffer;
    private int references = 1;

    private OutboundFrame(byte[] buffer, int length, ArrayPool<byte>? pool)
    {
        this.buffer = buffer;
        this.pool = pool;
        Length = length;
    }

    /// <summary>The frame's length in bytes.</summary>
    public int Length { get; }

    /// <summary>The frame's bytes; valid until the last reference is released.</summary>
    public ReadOnlySpan<byte> Span =>
        Volatile.Read(ref buffer) is { } bytes ? bytes.AsSpan(0, Length) : throw new ObjectDisposedException(nameof(OutboundFrame), "the frame was released");

    /// <summary>
    /// Encodes <paramref name="message"/> into a buffer rented from <paramref name="pool"/> (the shared
    /// pool by default). The caller holds the one reference and releases it when done. Throws
    /// <see cref="ArgumentException"/>, saying how large the frame would be and the limit, when the
    /// message does not fit <see cref="MessageCodec.MessageSizeMax"/>; nothing is rented then.
    /// </summary>
    public static OutboundFrame Encode(MessageCodec codec, Message message, ArrayPool<byte>? pool = null)
    {
        ArgumentNullException.ThrowIfNull(codec);
        pool ??= ArrayPool<byte>.Shared;
        var length = codec.GetEncodedLength(message);
        var rented = pool.Rent(length);
        try
        {
            codec.Encode(message, rented.AsSpan(0, length));
        }
        catch
        {
            pool.Return(rented);
            throw;
        }

        return new OutboundFrame(rented, length, pool);
    }

    /// <summary>Wraps bytes that belong to nobody else (no pool); the caller holds the one reference.</summary>
    public static OutboundFrame Wrap(byte[] frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        return new OutboundFrame(frame, frame.Length, null);
    }

    /// <summary>Takes one more reference, for one more queue that will write the frame.</summary>
    public OutboundFrame Retain()
    {
        if (Interlocked.Increment(ref references) <= 1)
        {
            throw new InvalidOperationException("A frame was retained after its last reference was released");
        }

        return this;
    }

    /// <summary>Gives one reference back; the last one returns the buffer to its pool.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref references);
        if (left > 0)
        {
            return;
        }

        if (left < 0)
        {
            throw new InvalidOperationException("A frame was released more often than it was retained");
        }

        if (Interlocked.Exchange(ref buffer, null) is { } bytes)
        {
            pool?.Return(bytes);
        }
    }
}
