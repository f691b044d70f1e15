using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Viewstamped.Codec;
using Viewstamped.Messages;
using Viewstamped.Runtime.Diagnostics;
using Viewstamped.Runtime.Security;

namespace Viewstamped.Runtime.Transport;

/// <summary>
/// One authenticated TCP connection (plain, or inside TLS) carrying frames both ways, on System.IO.Pipelines. The receive
/// loop reads the fixed header, checks it with <see cref="MessageCodec.TryReadFrameLength(ReadOnlySpan{byte}, out int, out DecodeError)"/>
/// (magic, version, checksum, cluster, size limit) before buffering the body, verifies the frame's
/// authentication tag when the connection has one, decodes it and hands the message to its owner.
/// Any bad frame closes the connection and is counted. The send loop drains a bounded queue of
/// encoded frames; a full queue drops the frame (the protocol resends what matters).
/// </summary>
internal sealed class FrameConnection
{
    private readonly Socket socket;
    private readonly Stream stream;
    private readonly MessageCodec codec;
    private readonly FrameAuthenticator? signer;
    private readonly FrameAuthenticator? verifier;
    private readonly Channel<QueuedFrame> queue;
    private readonly bool sendsTraceContext;
    private readonly bool receivesTraceContext;
    private readonly byte[] extension = new byte[TraceContextExtension.SizeMax];
    private readonly TransportCounters counters;
    private readonly ArrayPool<byte> buffers;
    private readonly ILogger logger;
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int closed;
    private int loopsRunning;

    /// <summary>Wraps a connected, handshaken stream; nothing runs until <see cref="Start"/>.</summary>
    /// <param name="socket">The socket under <paramref name="stream"/>, closed with the connection.</param>
    /// <param name="stream">The socket's stream, or the TLS stream over it.</param>
    /// <param name="handshake">Who is at the other end, and the frame authenticators when the connection has a key.</param>
    /// <param name="codec">Checks and decodes received frames.</param>
    /// <param name="sendQueueCapacity">Frames that may wait to be written; more are dropped.</param>
    /// <param name="counters">Where frames and bytes are counted.</param>
    /// <param name="logger">Where rejected frames are logged.</param>
    /// <param name="buffers">Where a frame split across receive buffers is copied whole before it is decoded; the shared pool by default.</param>
    public FrameConnection(
        Socket socket, Stream stream, HandshakeResult handshake, MessageCodec codec, int sendQueueCapacity, TransportCounters counters, ILogger logger, ArrayPool<byte>? buffers = null)
    {
        this.buffers = buffers ?? ArrayPool<byte>.Shared;
        this.socket = socket;
        this.stream = stream;
        this.codec = codec;
        this.counters = counters;
        this.logger = logger;
        signer = handshake.Signer;
        verifier = handshake.Verifier;
        sendsTraceContext = handshake.SendsTraceContext;
        receivesTraceContext = handshake.ReceivesTraceContext;
        RemoteRole = handshake.RemoteRole;
        RemoteReplica = handshake.RemoteReplica;
        RemoteAddress = (socket.RemoteEndPoint as IPEndPoint)?.Address;
        Remote = socket.RemoteEndPoint?.ToString() ?? "?";
        queue = Channel.CreateBounded<QueuedFrame>(new BoundedChannelOptions(sendQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The remote end, as <c>ADDRESS:PORT</c>, for logs.</summary>
    public string Remote { get; }

    /// <summary>The remote address, for per-address limits.</summary>
    public IPAddress? RemoteAddress { get; }

    /// <summary>Whether a replica or a client is at the other end.</summary>
    public PeerRole RemoteRole { get; }

    /// <summary>The replica at the other end, or <see cref="ReplicaIndex.None"/> for a client.</summary>
    public ReplicaIndex RemoteReplica { get; }

    /// <summary>Frames waiting to be written.</summary>
    public int QueueDepth => queue.Reader.Count;

    /// <summary>True once the connection is closed or closing.</summary>
    public bool IsClosed => Volatile.Read(ref closed) != 0;

    /// <summary>Why the connection closed.</summary>
    public string? CloseReason { get; private set; }

    /// <summary>Completes when both loops have ended and the socket is closed.</summary>
    public Task Completion => completion.Task;

    /// <summary>Per-connection state of the owner (the host's in-flight table for client connections).</summary>
    public object? State { get; set; }

    /// <summary>
    /// Starts the loops. <paramref name="onMessage"/> receives every decoded message in order, with the
    /// trace context the sender attached (default when none), and returns null to accept it, or a
    /// reason to reject it (which closes the connection).
    /// </summary>
    public void Start(Func<FrameConnection, Message, ActivityContext, ValueTask<string?>> onMessage)
    {
        loopsRunning = 2;
        _ = RunLoopAsync(() => ReceiveLoopAsync(onMessage));
        _ = RunLoopAsync(SendLoopAsync);
    }

    /// <summary>
    /// Queues an encoded frame, with the trace context to attach when the connection carries one;
    /// false (and counted) when the queue is full or the connection closed. The queue takes its own
    /// reference to <paramref name="frame"/> and releases it once the frame is written or dropped;
    /// the caller keeps (and releases) its own.
    /// </summary>
    public bool TrySend(OutboundFrame frame, ActivityContext trace = default)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (!IsClosed)
        {
            frame.Retain();
            if (queue.Writer.TryWrite(new QueuedFrame(frame, trace)))
            {
                return true;
            }

            frame.Release();
        }

        counters.DroppedFrame(IsClosed ? "closed" : "send_queue_full");
        return false;
    }

    /// <summary>Queues a frame held in an array of its own (see <see cref="TrySend(OutboundFrame, ActivityContext)"/>).</summary>
    public bool TrySend(byte[] frame, ActivityContext trace = default)
    {
        var wrapped = OutboundFrame.Wrap(frame);
        var queued = TrySend(wrapped, trace);
        wrapped.Release();
        return queued;
    }

    /// <summary>Closes the connection (once; later calls do nothing).</summary>
    public void Close(string reason)
    {
        if (Interlocked.Exchange(ref closed, 1) != 0)
        {
            return;
        }

        CloseReason = reason;
        queue.Writer.TryComplete();
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
        if (Volatile.Read(ref loopsRunning) == 0)
        {
            Finish();
        }
    }

    private async Task RunLoopAsync(Func<Task> loop)
    {
        try
        {
            await loop().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Close("closed");
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            Close(e.Message);
        }
        finally
        {
            if (Interlocked.Decrement(ref loopsRunning) == 0)
            {
                Close("closed");
                Finish();
            }
        }
    }

    private void Finish()
    {
        if (Volatile.Read(ref loopsRunning) != 0 || completion.Task.IsCompleted)
        {
            return;
        }

        signer?.Dispose();
        verifier?.Dispose();
        stream.Dispose();
        completion.TrySetResult();
    }

    private async Task ReceiveLoopAsync(Func<FrameConnection, Message, ActivityContext, ValueTask<string?>> onMessage)
    {
        var token = CancellationToken.None;
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                while (true)
                {
                    var step = TryReadFrame(buffer, out var length, out var message, out var trace, out var code, out var reason);
                    if (step == FrameStep.NeedMore)
                    {
                        break;
                    }

                    if (step == FrameStep.Rejected)
                    {
                        Reject(code, reason);
                        return;
                    }

                    buffer = buffer.Slice(length);
                    counters.Received(length);
                    var rejection = await onMessage(this, message!, trace).ConfigureAwait(false);
                    if (rejection is not null)
                    {
                        Reject("unexpected_message", rejection);
                        return;
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        Reject("truncated", $"the connection closed in the middle of a frame ({buffer.Length} bytes of it)");
                    }
                    else
                    {
                        Close("closed by the remote end");
                    }

                    return;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    private FrameStep TryReadFrame(ReadOnlySequence<byte> buffer, out int length, out Message? message, out ActivityContext trace, out string code, out string reason)
    {
        length = 0;
        message = null;
        trace = default;
        code = string.Empty;
        reason = string.Empty;
        if (buffer.Length < WireLayout.HeaderSize)
        {
            return FrameStep.NeedMore;
        }

        Span<byte> header = stackalloc byte[WireLayout.HeaderSize];
        buffer.Slice(0, WireLayout.HeaderSize).CopyTo(header);
        if (!codec.TryReadFrameLength(header, out var frameLength, out var error))
        {
            code = Code(error);
            reason = error == DecodeError.TooLarge
                ? $"frame header rejected: the frame announces {WireLayout.HeaderSize + (long)BinaryPrimitives.ReadUInt32LittleEndian(header[WireLayout.BodySizeOffset..])} bytes, more than the limit of {codec.MessageSizeMax}"
                : $"frame header rejected: {error}";
            return FrameStep.Rejected;
        }

        var extensionSize = 0;
        if (receivesTraceContext)
        {
            extensionSize = TraceContextExtension.SizeOf(buffer.Slice(Math.Min(buffer.Length, frameLength)));
            if (extensionSize == 0)
            {
                return FrameStep.NeedMore;
            }

            if (extensionSize < 0)
            {
                code = "bad_trace_context";
                reason = "the frame's trace context extension has an invalid length";
                return FrameStep.Rejected;
            }
        }

        var tagSize = verifier is null ? 0 : FrameAuthenticator.TagSize;
        if (buffer.Length < frameLength + extensionSize + tagSize)
        {
            return FrameStep.NeedMore;
        }

        Span<byte> extensionBytes = stackalloc byte[extensionSize];
        buffer.Slice(frameLength, extensionSize).CopyTo(extensionBytes);

        var frameBytes = buffer.Slice(0, frameLength);
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> frame;
            if (frameBytes.IsSingleSegment)
            {
                frame = frameBytes.FirstSpan;
            }
            else
            {
                rented = buffers.Rent(frameLength);
                frameBytes.CopyTo(rented);
                frame = rented.AsSpan(0, frameLength);
            }

            if (verifier is not null)
            {
                Span<byte> tag = stackalloc byte[FrameAuthenticator.TagSize];
                buffer.Slice(frameLength + extensionSize, FrameAuthenticator.TagSize).CopyTo(tag);
                if (!verifier.Verify(frame, extensionBytes, tag))
                {
                    code = "bad_tag";
                    reason = "the frame's authentication tag is wrong";
                    return FrameStep.Rejected;
                }
            }

            var decoded = codec.Decode(frame);
            if (!decoded.IsSuccess)
            {
                code = Code(decoded.Error);
                reason = $"frame rejected: {decoded.ErrorMessage}";
                return FrameStep.Rejected;
            }

            message = decoded.Message;
            trace = TraceContextExtension.Read(extensionBytes);
            length = frameLength + extensionSize + tagSize;
            return FrameStep.Frame;
        }
        finally
        {
            if (rented is not null)
            {
                buffers.Return(rented);
            }
        }
    }

    private async Task SendLoopAsync()
    {
        var token = CancellationToken.None;
        var writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 64 * 1024, leaveOpen: true));
        var reader = queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                var frames = 0;
                long bytes = 0;
                while (reader.TryRead(out var outbound))
                {
                    var frame = outbound.Frame.Span;
                    writer.Write(frame);
                    bytes += frame.Length;
                    var extensionSize = sendsTraceContext ? TraceContextExtension.Write(outbound.Trace, extension) : 0;
                    if (extensionSize > 0)
                    {
                        writer.Write(extension.AsSpan(0, extensionSize));
                        bytes += extensionSize;
                    }

                    if (signer is not null)
                    {
                        signer.Sign(frame, extension.AsSpan(0, extensionSize), writer.GetSpan(FrameAuthenticator.TagSize));
                        writer.Advance(FrameAuthenticator.TagSize);
                        bytes += FrameAuthenticator.TagSize;
                    }

                    outbound.Frame.Release();
                    frames++;
                    if (writer.UnflushedBytes >= 256 * 1024)
                    {
                        counters.Sent(frames, bytes);
                        frames = 0;
                        bytes = 0;
                        if ((await writer.FlushAsync(token).ConfigureAwait(false)).IsCompleted)
                        {
                            return;
                        }
                    }
                }

                counters.Sent(frames, bytes);
                if ((await writer.FlushAsync(token).ConfigureAwait(false)).IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            // Frames still queued will never be written: their buffers go back to the pool.
            while (reader.TryRead(out var unsent))
            {
                unsent.Frame.Release();
            }

            await writer.CompleteAsync().ConfigureAwait(false);
        }
    }

    private void Reject(string code, string reason)
    {
        counters.RejectedFrame(code);
        RuntimeLog.FrameRejected(logger, Remote, reason);
        Close(reason);
    }

    private static string Code(DecodeError error) => error switch
    {
        DecodeError.TooShort => "too_short",
        DecodeError.BadMagic => "bad_magic",
        DecodeError.UnsupportedVersion => "unsupported_version",
        DecodeError.HeaderChecksumMismatch => "header_checksum",
        DecodeError.WrongCluster => "wrong_cluster",
        DecodeError.UnknownCommand => "unknown_command",
        DecodeError.TooLarge => "too_large",
        DecodeError.TrailingBytes => "trailing_bytes",
        DecodeError.BodyChecksumMismatch => "body_checksum",
        DecodeError.MalformedBody => "malformed_body",
        _ => "invalid",
    };

    private readonly record struct QueuedFrame(OutboundFrame Frame, ActivityContext Trace);

    private enum FrameStep
    {
        NeedMore,
        Frame,
        Rejected,
    }
}
