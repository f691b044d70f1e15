using System.Buffers;
using System.Diagnostics;

namespace Viewstamped.Runtime.Transport;

/// <summary>
/// The optional trace context a client attaches to each frame it sends, when both sides agreed to it
/// in the handshake (hello flag bit 1): right after the frame, before its authentication tag (which
/// covers it), a length byte, 0 for no context or 25 for a W3C trace context in binary: trace id
/// (16 bytes), parent span id (8 bytes), trace flags (1 byte). The core's frames stay as they are.
/// </summary>
internal static class TraceContextExtension
{
    /// <summary>The length of a present context, after the length byte.</summary>
    public const int ContextSize = 25;

    /// <summary>The most bytes an extension takes, length byte included.</summary>
    public const int SizeMax = 1 + ContextSize;

    /// <summary>Writes the extension for <paramref name="context"/> (just a zero length byte when it is default) and returns its size.</summary>
    public static int Write(ActivityContext context, Span<byte> destination)
    {
        if (context == default)
        {
            destination[0] = 0;
            return 1;
        }

        destination[0] = ContextSize;
        context.TraceId.CopyTo(destination.Slice(1, 16));
        context.SpanId.CopyTo(destination.Slice(17, 8));
        destination[25] = (byte)context.TraceFlags;
        return SizeMax;
    }

    /// <summary>
    /// The size of the extension at the start of <paramref name="buffer"/>: 0 while its length byte has
    /// not arrived, -1 when the length byte is neither 0 nor <see cref="ContextSize"/>.
    /// </summary>
    public static int SizeOf(ReadOnlySequence<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        Span<byte> length = stackalloc byte[1];
        buffer.Slice(0, 1).CopyTo(length);
        return length[0] switch
        {
            0 => 1,
            ContextSize => SizeMax,
            _ => -1,
        };
    }

    /// <summary>Reads a complete extension; default when it carries no context.</summary>
    public static ActivityContext Read(ReadOnlySpan<byte> extension) =>
        extension.Length < SizeMax
            ? default
            : new ActivityContext(
                ActivityTraceId.CreateFromBytes(extension.Slice(1, 16)),
                ActivitySpanId.CreateFromBytes(extension.Slice(17, 8)),
                (ActivityTraceFlags)extension[25],
                isRemote: true);
}
