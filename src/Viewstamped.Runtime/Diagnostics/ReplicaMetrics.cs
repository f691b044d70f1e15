using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Viewstamped.Runtime.Diagnostics;

/// <summary>
/// The instruments of one replica host, on a meter named <see cref="ViewstampedTelemetry.MeterName"/>.
/// Every measurement carries the <see cref="ViewstampedTelemetry.ReplicaTag"/> tag.
/// </summary>
/// <remarks>
/// Instruments: <c>vsr.replica.commits</c> (ops committed), <c>vsr.replica.view_changes</c>
/// (view changes completed), <c>vsr.replica.request.duration</c> (seconds from a request's arrival at
/// the primary to its reply), <c>vsr.replica.persist.duration</c> (seconds per group commit),
/// <c>vsr.replica.batch.size</c> (messages per driver batch), <c>vsr.replica.inbox.depth</c> and
/// <c>vsr.transport.send_queue.depth</c> (gauges), <c>vsr.transport.bytes</c> (tagged
/// <c>vsr.direction</c> in/out), <c>vsr.transport.frames.rejected</c>,
/// <c>vsr.transport.connections.refused</c>, <c>vsr.transport.frames.dropped</c> and
/// <c>vsr.replica.requests.rejected</c> (tagged <c>vsr.reason</c>).
/// </remarks>
internal sealed class ReplicaMetrics : IDisposable
{
    private readonly Meter meter;
    private readonly bool ownsMeter;
    private readonly KeyValuePair<string, object?> replicaTag;
    private readonly Counter<long> commits;
    private readonly Counter<long> viewChanges;
    private readonly Histogram<double> requestDuration;
    private readonly Histogram<double> persistDuration;
    private readonly Histogram<int> batchSize;
    private readonly Counter<long> bytes;
    private readonly Counter<long> rejectedFrames;
    private readonly Counter<long> refusedConnections;
    private readonly Counter<long> droppedFrames;
    private readonly Counter<long> rejectedRequests;

    public ReplicaMetrics(IMeterFactory? meterFactory, int replica, Func<int> inboxDepth, Func<int> sendQueueDepth)
    {
        meter = meterFactory?.Create(ViewstampedTelemetry.MeterName) ?? new Meter(ViewstampedTelemetry.MeterName, "1.0");
        ownsMeter = meterFactory is null;
        replicaTag = new(ViewstampedTelemetry.ReplicaTag, replica);
        commits = meter.CreateCounter<long>("vsr.replica.commits", "{op}", "Operations committed");
        viewChanges = meter.CreateCounter<long>("vsr.replica.view_changes", "{view_change}", "View changes completed");
        requestDuration = meter.CreateHistogram<double>("vsr.replica.request.duration", "s", "Time from a request's arrival at the primary to its reply");
        persistDuration = meter.CreateHistogram<double>("vsr.replica.persist.duration", "s", "Time to make one batch durable (one group commit)");
        batchSize = meter.CreateHistogram<int>("vsr.replica.batch.size", "{message}", "Messages handled per driver batch");
        bytes = meter.CreateCounter<long>("vsr.transport.bytes", "By", "Bytes received and sent, frames and authentication tags");
        rejectedFrames = meter.CreateCounter<long>("vsr.transport.frames.rejected", "{frame}", "Frames that closed their connection: malformed, foreign, oversized or unauthenticated");
        refusedConnections = meter.CreateCounter<long>("vsr.transport.connections.refused", "{connection}", "Connections refused in or before the handshake");
        droppedFrames = meter.CreateCounter<long>("vsr.transport.frames.dropped", "{frame}", "Frames dropped because a send queue was full or a peer unreachable");
        rejectedRequests = meter.CreateCounter<long>("vsr.replica.requests.rejected", "{request}", "Requests refused by the host before the protocol saw them");
        meter.CreateObservableGauge("vsr.replica.inbox.depth", () => new Measurement<int>(inboxDepth(), replicaTag), "{message}", "Messages waiting for the driver loop");
        meter.CreateObservableGauge("vsr.transport.send_queue.depth", () => new Measurement<int>(sendQueueDepth(), replicaTag), "{frame}", "Frames waiting in send queues, all connections");
    }

    public void Commits(long count)
    {
        if (count > 0)
        {
            commits.Add(count, replicaTag);
        }
    }

    public void ViewChanges(long count)
    {
        if (count > 0)
        {
            viewChanges.Add(count, replicaTag);
        }
    }

    public void RequestDuration(double seconds, string status) =>
        requestDuration.Record(seconds, replicaTag, new(ViewstampedTelemetry.StatusTag, status));

    public void PersistDuration(double seconds) => persistDuration.Record(seconds, replicaTag);

    public void BatchSize(int messages) => batchSize.Record(messages, replicaTag);

    public void BytesIn(long count) => bytes.Add(count, replicaTag, new(ViewstampedTelemetry.DirectionTag, "in"));

    public void BytesOut(long count) => bytes.Add(count, replicaTag, new(ViewstampedTelemetry.DirectionTag, "out"));

    public void RejectedFrame(string reason) => rejectedFrames.Add(1, replicaTag, new(ViewstampedTelemetry.ReasonTag, reason));

    public void RefusedConnection(string reason) => refusedConnections.Add(1, replicaTag, new(ViewstampedTelemetry.ReasonTag, reason));

    public void DroppedFrame(string queue) => droppedFrames.Add(1, replicaTag, new(ViewstampedTelemetry.ReasonTag, queue));

    public void RejectedRequest(string reason) => rejectedRequests.Add(1, replicaTag, new(ViewstampedTelemetry.ReasonTag, reason));

    /// <summary>Starts <c>vsr.replica.request</c> as a child of the client's <paramref name="parent"/> when the request carried one.</summary>
    public static Activity? StartRequestActivity(ClientId client, ulong requestNumber, int replica, ActivityContext parent)
    {
        if (!ViewstampedTelemetry.ActivitySource.HasListeners())
        {
            return null;
        }

        var previous = Activity.Current;
        var activity = ViewstampedTelemetry.ActivitySource.StartActivity("vsr.replica.request", ActivityKind.Server, parent);
        Activity.Current = previous;
        activity?.SetTag("vsr.client", client.ToString());
        activity?.SetTag("vsr.request_number", requestNumber);
        activity?.SetTag(ViewstampedTelemetry.ReplicaTag, replica);
        return activity;
    }

    public void Dispose()
    {
        if (ownsMeter)
        {
            meter.Dispose();
        }
    }
}
