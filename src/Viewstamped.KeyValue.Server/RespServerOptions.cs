using System.Net;

namespace Viewstamped.KeyValue.Server;

/// <summary>Settings of a <see cref="RespServer"/>.</summary>
public sealed class RespServerOptions
{
    /// <summary>The address to listen on; port 0 picks a free port.</summary>
    public IPEndPoint EndPoint { get; set; } = new(IPAddress.Loopback, 6379);

    /// <summary>The password clients must give with AUTH (<c>--requirepass</c>); null for none.</summary>
    public string? RequirePass { get; set; }

    /// <summary>Connections open at once; a client past the limit gets an error and is closed.</summary>
    public int MaxConnections { get; set; } = 1024;

    /// <summary>
    /// Replicated commands of one connection awaiting their replies at once (a run holds at most this
    /// many, and at most <see cref="BatchMax"/>); the rest of what was read waits for their replies.
    /// </summary>
    public int MaxPipelinedCommands { get; set; } = 1024;

    /// <summary>
    /// The most commands replicated together as one log entry (a batch): the pipelined commands of
    /// one connection, and the runs of other connections waiting at the same time; 1 replicates each
    /// command on its own. Default 1024, the pipelines of 64 connections 16 deep.
    /// </summary>
    public int BatchMax { get; set; } = 1024;

    /// <summary>
    /// The most operation bytes in one batch, each operation's length prefix included; a command
    /// larger than this goes alone. Keep it under
    /// the replicas' request size limit (<c>ReplicaHostOptions.RequestSizeMax</c>, 64 KiB by default)
    /// with room for the batch header. Default 56 KiB.
    /// </summary>
    public int BatchBytesMax { get; set; } = 56 << 10;

    /// <summary>
    /// The most batches replicating at once through the client; what arrives meanwhile waits for the
    /// next batch. More overlaps more protocol rounds, fewer makes larger batches. Default 4.
    /// </summary>
    public int BatchesInFlight { get; set; } = 4;

    /// <summary>The request limits once a client has authenticated.</summary>
    public RespReaderOptions ReaderOptions { get; set; } = new();

    /// <summary>The number of replicas in the cluster (INFO's <c>vr_replica_count</c>, the primary's index).</summary>
    public int ReplicaCount { get; set; } = 1;

    /// <summary>
    /// Optional: every replica's RESP endpoint (HOST:PORT) in index order, so INFO on a backup
    /// names the primary in <c>master_host</c>/<c>master_port</c>.
    /// </summary>
    public IReadOnlyList<string> RespEndpoints { get; set; } = [];

    /// <summary>
    /// Optional: the bytes the key-value store holds for its keys, shown by INFO as
    /// <c>used_memory_dataset</c> (e.g. <c>() =&gt; service.BytesHeld</c>); called on a connection's thread.
    /// </summary>
    public Func<long>? DatasetBytes { get; set; }

    /// <summary>Checks the settings.</summary>
    /// <returns>The problems found; empty when valid.</returns>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxConnections < 1)
        {
            errors.Add($"MaxConnections must be at least 1, not {MaxConnections}");
        }

        if (MaxPipelinedCommands < 1)
        {
            errors.Add($"MaxPipelinedCommands must be at least 1, not {MaxPipelinedCommands}");
        }

        if (BatchMax < 1)
        {
            errors.Add($"BatchMax must be at least 1, not {BatchMax}");
        }

        if (BatchBytesMax < 1)
        {
            errors.Add($"BatchBytesMax must be at least 1, not {BatchBytesMax}");
        }

        if (BatchesInFlight < 1)
        {
            errors.Add($"BatchesInFlight must be at least 1, not {BatchesInFlight}");
        }

        if (ReplicaCount < 1)
        {
            errors.Add($"ReplicaCount must be at least 1, not {ReplicaCount}");
        }

        if (RespEndpoints.Count != 0 && RespEndpoints.Count != ReplicaCount)
        {
            errors.Add($"RespEndpoints must list {ReplicaCount} endpoints or none, not {RespEndpoints.Count}");
        }

        return errors;
    }
}
