namespace Viewstamped.KeyValue;

/// <summary>
/// What INFO, ROLE and HELLO report about the server, filled by the server from its replica and
/// process (the library reads no ambient state).
/// </summary>
public sealed record ServerInfo
{
    /// <summary>The version reported as <c>redis_version</c> (clients pick features by it).</summary>
    public string RedisVersion { get; init; } = "7.2.0";

    /// <summary>This server's own version, reported as <c>viewstamped_version</c>.</summary>
    public string ServerVersion { get; init; } = "0.0.0";

    /// <summary>The process id.</summary>
    public int ProcessId { get; init; }

    /// <summary>The port clients connect to.</summary>
    public int TcpPort { get; init; }

    /// <summary>Seconds since the server started.</summary>
    public long UptimeSeconds { get; init; }

    /// <summary>Open client connections.</summary>
    public int ConnectedClients { get; init; }

    /// <summary>True when this replica is the primary of its view (<c>vr_role:primary</c>); otherwise <c>vr_role:backup</c>.</summary>
    public bool IsPrimary { get; init; } = true;

    /// <summary>The replica's status: <c>normal</c>, <c>view-change</c> or <c>recovering</c>.</summary>
    public string Status { get; init; } = "normal";

    /// <summary>This replica's index in the group.</summary>
    public int ReplicaIndex { get; init; }

    /// <summary>The number of replicas in the group.</summary>
    public int ReplicaCount { get; init; } = 1;

    /// <summary>The index of the current view's primary.</summary>
    public int PrimaryIndex { get; init; }

    /// <summary>The primary's client host, when this replica is a backup and knows it.</summary>
    public string? PrimaryHost { get; init; }

    /// <summary>The primary's client port, with <see cref="PrimaryHost"/>.</summary>
    public int PrimaryPort { get; init; }

    /// <summary>The current view number.</summary>
    public ulong View { get; init; }

    /// <summary>The op number of the log head.</summary>
    public ulong Op { get; init; }

    /// <summary>The commit number.</summary>
    public ulong Commit { get; init; }

    /// <summary>The op of the latest checkpoint.</summary>
    public ulong Checkpoint { get; init; }

    /// <summary>Keys held, if the server knows (shown in the keyspace section).</summary>
    public long? Keys { get; init; }

    /// <summary>Keys with an expiry, if the server knows.</summary>
    public long? Expires { get; init; }

    /// <summary>The process's memory, if the server knows (INFO's memory section).</summary>
    public MemoryInfo? Memory { get; init; }
}
