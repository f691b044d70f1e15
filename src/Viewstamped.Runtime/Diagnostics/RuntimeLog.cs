using Microsoft.Extensions.Logging;

namespace Viewstamped.Runtime.Diagnostics;

/// <summary>The runtime's log messages, source-generated so that disabled levels cost nothing.</summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Replica {Replica} of {ReplicaCount} in cluster {Cluster} listening on {Listen} ({Security})")]
    public static partial void ReplicaStarted(ILogger logger, int replica, int replicaCount, string cluster, string listen, string security);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Replica {Replica} runs UNAUTHENTICATED: no cluster key is configured, so any host that can reach {Listen} can join as a peer or client. Create a key with 'vsr keygen FILE' and configure it on every replica and client")]
    public static partial void RunningUnauthenticated(ILogger logger, int replica, string listen);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Refused connection from {Remote}: {Reason}")]
    public static partial void ConnectionRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Closed connection from {Remote} after a bad frame: {Reason}")]
    public static partial void FrameRejected(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "Connection to {Remote} refused: {Reason}")]
    public static partial void OutboundRefused(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Connected to replica {Peer} at {Remote}")]
    public static partial void PeerConnected(ILogger logger, int peer, string remote);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Lost connection to replica {Peer} at {Remote}")]
    public static partial void PeerDisconnected(ILogger logger, int peer, string remote);

    [LoggerMessage(EventId = 8, Level = LogLevel.Debug, Message = "Client connected from {Remote}")]
    public static partial void ClientConnected(ILogger logger, string remote);

    [LoggerMessage(EventId = 9, Level = LogLevel.Critical, Message = "Replica {Replica} stopped on a fatal error; its disk state is intact up to the last group commit")]
    public static partial void ReplicaFailed(ILogger logger, int replica, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Replica {Replica} stopped")]
    public static partial void ReplicaStopped(ILogger logger, int replica);

    [LoggerMessage(EventId = 11, Level = LogLevel.Error, Message = "Dropped a {Command} that cannot be sent: {Error}")]
    public static partial void EncodeFailed(ILogger logger, Viewstamped.Messages.Command command, string error);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "Replica {Replica} is {Status} in view {View} (primary: replica {Primary})")]
    public static partial void StatusChanged(ILogger logger, int replica, ReplicaStatus status, ulong view, int primary);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "Replica {Replica} keeps its state in memory: a restart loses it, and the restarted replica must be started with Rejoin (vsr replica --rejoin) to recover from its peers. Configure a data directory for durable storage")]
    public static partial void InMemoryStorage(ILogger logger, int replica);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "The cluster key file {Path} can be read by other users (mode {Mode}); restrict it with 'chmod 600'")]
    public static partial void KeyFileTooOpen(ILogger logger, string path, string mode);

    [LoggerMessage(EventId = 15, Level = LogLevel.Debug, Message = "Could not connect to {Remote}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 16, Level = LogLevel.Debug, Message = "Answered Busy to a request from {Remote}: more than {Limit} sessions have a request in flight on that connection")]
    public static partial void RequestRefused(ILogger logger, string remote, int limit);

    [LoggerMessage(EventId = 17, Level = LogLevel.Information, Message = "Replica {Replica} took the checkpoint at op {Op} (the loop's batch that took it ran {BatchMilliseconds:0.#} ms); writing it beside the loop")]
    public static partial void CheckpointTaken(ILogger logger, int replica, ulong op, double batchMilliseconds);

    [LoggerMessage(EventId = 18, Level = LogLevel.Information, Message = "Replica {Replica} wrote the checkpoint at op {Op} ({Bytes} bytes) beside the loop in {Milliseconds:0} ms")]
    public static partial void CheckpointWritten(ILogger logger, int replica, ulong op, long bytes, double milliseconds);

    [LoggerMessage(EventId = 19, Level = LogLevel.Debug, Message = "Replica {Replica} asked for a background collection after the checkpoint at op {Op} ({Bytes} bytes) let go of the log before it")]
    public static partial void CollectionRequested(ILogger logger, int replica, ulong op, long bytes);
}
