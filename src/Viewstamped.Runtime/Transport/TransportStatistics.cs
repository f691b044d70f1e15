using Viewstamped.Runtime.Diagnostics;

namespace Viewstamped.Runtime.Transport;

/// <summary>Counters of one replica's or client's transport since it started.</summary>
/// <param name="BytesReceived">Bytes read from connections after the handshake: frames and tags.</param>
/// <param name="BytesSent">Bytes written to connections after the handshake.</param>
/// <param name="FramesReceived">Frames that passed every check.</param>
/// <param name="FramesSent">Frames written.</param>
/// <param name="RejectedFrames">Frames that failed a check (framing, checksum, version, cluster, tag, sender); each closed its connection.</param>
/// <param name="RefusedConnections">Connections refused in the handshake or by a limit.</param>
/// <param name="DroppedFrames">Frames dropped because a send queue was full or no connection was up.</param>
/// <param name="RejectedRequests">Client requests answered Busy because their connection had too many in flight.</param>
public sealed record TransportStatistics(
    long BytesReceived,
    long BytesSent,
    long FramesReceived,
    long FramesSent,
    long RejectedFrames,
    long RefusedConnections,
    long DroppedFrames,
    long RejectedRequests);

/// <summary>The live counters behind <see cref="TransportStatistics"/>, forwarding to metrics when present.</summary>
internal sealed class TransportCounters(ReplicaMetrics? metrics)
{
    private long bytesReceived;
    private long bytesSent;
    private long framesReceived;
    private long framesSent;
    private long rejectedFrames;
    private long refusedConnections;
    private long droppedFrames;
    private long rejectedRequests;

    public void Received(int bytes)
    {
        Interlocked.Add(ref bytesReceived, bytes);
        Interlocked.Increment(ref framesReceived);
        metrics?.BytesIn(bytes);
    }

    public void Sent(int frames, long bytes)
    {
        Interlocked.Add(ref bytesSent, bytes);
        Interlocked.Add(ref framesSent, frames);
        metrics?.BytesOut(bytes);
    }

    public void RejectedFrame(string reason)
    {
        Interlocked.Increment(ref rejectedFrames);
        metrics?.RejectedFrame(reason);
    }

    public void RefusedConnection(string reason)
    {
        Interlocked.Increment(ref refusedConnections);
        metrics?.RefusedConnection(reason);
    }

    public void DroppedFrame(string queue)
    {
        Interlocked.Increment(ref droppedFrames);
        metrics?.DroppedFrame(queue);
    }

    public void RejectedRequest(string reason)
    {
        Interlocked.Increment(ref rejectedRequests);
        metrics?.RejectedRequest(reason);
    }

    public TransportStatistics Snapshot() => new(
        Interlocked.Read(ref bytesReceived),
        Interlocked.Read(ref bytesSent),
        Interlocked.Read(ref framesReceived),
        Interlocked.Read(ref framesSent),
        Interlocked.Read(ref rejectedFrames),
        Interlocked.Read(ref refusedConnections),
        Interlocked.Read(ref droppedFrames),
        Interlocked.Read(ref rejectedRequests));
}
