using Viewstamped.Codec;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Runtime.Host;

/// <summary>
/// Everything a <see cref="ReplicaHost"/> needs: the cluster and this replica's place in it, the
/// cluster key, the tick length, the core's timing options in ticks, and the transport's limits.
/// Bindable from configuration (section <c>Viewstamped</c> in the hosting integration).
/// </summary>
public sealed class ReplicaHostOptions
{
    /// <summary>The configuration section the hosting integration binds by default.</summary>
    public const string SectionName = "Viewstamped";

    /// <summary>The cluster id; frames of any other cluster are refused.</summary>
    public UInt128 Cluster { get; set; }

    /// <summary>This replica's index in <see cref="Replicas"/>.</summary>
    public int Replica { get; set; }

    /// <summary>Every replica's <c>HOST:PORT</c>, in index order; the same list on every replica and client.</summary>
    public List<string> Replicas { get; } = [];

    /// <summary>Where to listen, <c>HOST:PORT</c>; default this replica's entry in <see cref="Replicas"/>.</summary>
    public string? Listen { get; set; }

    /// <summary>The file holding the cluster key (written by <c>vsr keygen</c>); ignored when <see cref="Key"/> is set.</summary>
    public string? KeyFile { get; set; }

    /// <summary>The cluster key. Without a key (and without <see cref="KeyFile"/>) the replica runs unauthenticated and says so.</summary>
    public ClusterKey? Key { get; set; }

    /// <summary>
    /// Mutual TLS: this side's certificate, PEM (with <see cref="TlsKeyFile"/>) or PKCS#12 (<c>.pfx</c>,
    /// <c>.p12</c>, with <see cref="TlsCertificatePassword"/>). Needs <see cref="TlsAuthorityFile"/>;
    /// ignored when <see cref="Tls"/> is set. See <see cref="TlsCredentials"/>.
    /// </summary>
    public string? TlsCertificateFile { get; set; }

    /// <summary>The PEM private key of <see cref="TlsCertificateFile"/>, unless that file holds it.</summary>
    public string? TlsKeyFile { get; set; }

    /// <summary>The cluster's certificate authority (PEM): the remote side's certificate must chain to it.</summary>
    public string? TlsAuthorityFile { get; set; }

    /// <summary>The password of a PKCS#12 <see cref="TlsCertificateFile"/>.</summary>
    public string? TlsCertificatePassword { get; set; }

    /// <summary>Mutual TLS credentials, instead of the <c>Tls*File</c> options. Without TLS, connections are plain TCP.</summary>
    public TlsCredentials? Tls { get; set; }

    /// <summary>The data directory of durable file storage (hosting integration); without it state is kept in memory.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// Set when this replica lost its state (a restart with memory storage, a replaced disk): blank storage
    /// then rejoins through the Recovery protocol instead of starting as a new member of a new cluster.
    /// Default false: blank storage means a new replica.
    /// </summary>
    public bool Rejoin { get; set; }

    /// <summary>The length of one logical tick. Default 10 ms.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Ticks between heartbeats; see <see cref="ReplicaOptions.HeartbeatTicks"/>. Default 10.</summary>
    public int HeartbeatTicks { get; set; } = 10;

    /// <summary>Ticks without the primary before a view change is proposed; see <see cref="ReplicaOptions.ViewChangeTimeoutTicks"/>. Default 50.</summary>
    public int ViewChangeTimeoutTicks { get; set; } = 50;

    /// <summary>Ticks between resends; see <see cref="ReplicaOptions.RetryTicks"/>. Default 20.</summary>
    public int RetryTicks { get; set; } = 20;

    /// <summary>Ops between checkpoints; see <see cref="ReplicaOptions.CheckpointInterval"/>. Default 1024.</summary>
    public ulong CheckpointInterval { get; set; } = 1024;

    /// <summary>
    /// A checkpoint also once this many bytes of log were executed since the last one, 0 for by op count
    /// only; see <see cref="ReplicaOptions.CheckpointBytesInterval"/>. Default 32 MiB.
    /// </summary>
    public long CheckpointBytesInterval { get; set; } = 32 << 20;

    /// <summary>
    /// After a checkpoint of at least this many bytes is written and the log before it compacted, the host
    /// asks the garbage collector for a background full collection (at most once a second), so the
    /// entries let go return their memory then rather than when the collector's budget for its oldest
    /// generation runs out. 0: never. Default 16 MiB. With background collection disabled in the
    /// runtime's settings, that collection blocks the process instead.
    /// </summary>
    public long CollectAfterCheckpointBytes { get; set; } = 16 << 20;

    /// <summary>Entries kept before a checkpoint; see <see cref="ReplicaOptions.LogSuffix"/>. Default 256.</summary>
    public ulong LogSuffix { get; set; } = 256;

    /// <summary>The most bytes of entries kept before a checkpoint; see <see cref="ReplicaOptions.LogSuffixBytesMax"/>. Default 4 MiB.</summary>
    public long LogSuffixBytesMax { get; set; } = 4 << 20;

    /// <summary>
    /// Bytes of committed entries a view change's log carries besides the uncommitted ones; see
    /// <see cref="ReplicaOptions.ViewChangeCommittedBytesMax"/>. Default 256 KiB.
    /// </summary>
    public long ViewChangeCommittedBytesMax { get; set; } = 256 << 10;

    /// <summary>Uncommitted ops at the primary; see <see cref="ReplicaOptions.PipelineMax"/>. Default 256.</summary>
    public int PipelineMax { get; set; } = 256;

    /// <summary>Client table capacity; see <see cref="ReplicaOptions.ClientsMax"/>. Default 4096.</summary>
    public int ClientsMax { get; set; } = 4096;

    /// <summary>
    /// The largest operation, in bytes; see <see cref="ReplicaOptions.RequestSizeMax"/>. Default 64 KiB, so
    /// that a Prepare of <see cref="ReplicaOptions.EntriesPerMessageMax"/> entries fits in a frame.
    /// </summary>
    public int RequestSizeMax { get; set; } = 64 * 1024;

    /// <summary>Bytes of uncommitted operations at the primary; see <see cref="ReplicaOptions.PipelineBytesMax"/>. Default 4 MiB.</summary>
    public long PipelineBytesMax { get; set; } = 4 << 20;

    /// <summary>The core's seed; default a fresh random one per start (every incarnation needs its own).</summary>
    public ulong? Seed { get; set; }

    /// <summary>The largest frame accepted or sent, header included; the core bounds its messages by it too. Default 16 MiB.</summary>
    public int MessageSizeMax { get; set; } = WireLayout.DefaultMessageSizeMax;

    /// <summary>Messages waiting for the driver loop before receivers wait (TCP back-pressure). Default 4096.</summary>
    public int InboxCapacity { get; set; } = 4096;

    /// <summary>The most messages one driver batch handles before it persists and sends. Default 1024.</summary>
    public int BatchMax { get; set; } = 1024;

    /// <summary>Frames queued per connection; beyond it frames are dropped. Default 4096.</summary>
    public int SendQueueCapacity { get; set; } = 4096;

    /// <summary>Live connections (peers and clients, in the handshake or after) per remote address. Default 256.</summary>
    public int MaxConnectionsPerAddress { get; set; } = 256;

    /// <summary>Client sessions with a request in flight per client connection; more are answered Busy. Default 1024.</summary>
    public int MaxInFlightPerConnection { get; set; } = 1024;

    /// <summary>Time a connection has to complete the handshake. Default 5 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time to establish a TCP connection to a peer. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>First delay before reconnecting to a peer; it doubles up to <see cref="ReconnectDelayMax"/>. Default 50 ms.</summary>
    public TimeSpan ReconnectDelayMin { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest delay between reconnection attempts. Default 1 s.</summary>
    public TimeSpan ReconnectDelayMax { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Every problem with these options, in words; empty when they can work.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Replicas.Count is < 1 or > 64)
        {
            errors.Add($"Replicas must list 1 to 64 HOST:PORT endpoints, not {Replicas.Count}");
        }

        foreach (var endpoint in Replicas)
        {
            if (!Endpoints.TryParse(endpoint, out _, out var error))
            {
                errors.Add($"Replicas: {error}");
            }
        }

        if (Replicas.Distinct(StringComparer.OrdinalIgnoreCase).Count() != Replicas.Count)
        {
            errors.Add("Replicas lists an endpoint twice");
        }

        if (Replica < 0 || Replica >= Math.Max(1, Replicas.Count))
        {
            errors.Add($"Replica must be an index into Replicas (0 to {Replicas.Count - 1}), not {Replica}");
        }

        if (Listen is not null && !Endpoints.TryParse(Listen, out _, out var listenError))
        {
            errors.Add($"Listen: {listenError}");
        }

        if (Key is null && KeyFile is not null && !File.Exists(KeyFile))
        {
            errors.Add($"KeyFile {KeyFile} does not exist");
        }

        if (Tls is null)
        {
            TlsCredentials.Validate(errors, TlsCertificateFile, TlsKeyFile, TlsAuthorityFile);
        }

        if (TickInterval < TimeSpan.FromMilliseconds(1) || TickInterval > TimeSpan.FromSeconds(10))
        {
            errors.Add($"TickInterval must be 1 ms to 10 s, not {TickInterval}");
        }

        if (MessageSizeMax is < 64 * 1024 or > WireLayout.MessageSizeMaxLimit)
        {
            errors.Add($"MessageSizeMax must be 64 KiB to 1 GiB, not {MessageSizeMax}");
        }

        if (CollectAfterCheckpointBytes < 0)
        {
            errors.Add($"CollectAfterCheckpointBytes must be 0 (never) or more, not {CollectAfterCheckpointBytes}");
        }

        Positive(errors, InboxCapacity, nameof(InboxCapacity));
        Positive(errors, BatchMax, nameof(BatchMax));
        Positive(errors, SendQueueCapacity, nameof(SendQueueCapacity));
        Positive(errors, MaxConnectionsPerAddress, nameof(MaxConnectionsPerAddress));
        Positive(errors, MaxInFlightPerConnection, nameof(MaxInFlightPerConnection));
        PositiveTime(errors, HandshakeTimeout, nameof(HandshakeTimeout));
        PositiveTime(errors, ConnectTimeout, nameof(ConnectTimeout));
        PositiveTime(errors, ReconnectDelayMin, nameof(ReconnectDelayMin));
        if (ReconnectDelayMax < ReconnectDelayMin)
        {
            errors.Add("ReconnectDelayMax must not be below ReconnectDelayMin");
        }

        if (errors.Count == 0)
        {
            try
            {
                ToReplicaOptions(0).Validate();
            }
            catch (ArgumentException e)
            {
                errors.Add(e.Message);
            }
        }

        return errors;
    }

    /// <summary>The core's options for this replica, with <paramref name="seed"/>.</summary>
    public ReplicaOptions ToReplicaOptions(ulong seed) => new()
    {
        Cluster = Cluster,
        ReplicaCount = Replicas.Count,
        Replica = new ReplicaIndex((byte)Replica),
        Seed = seed,
        HeartbeatTicks = HeartbeatTicks,
        ViewChangeTimeoutTicks = ViewChangeTimeoutTicks,
        RetryTicks = RetryTicks,
        CheckpointInterval = CheckpointInterval,
        CheckpointBytesInterval = CheckpointBytesInterval,
        LogSuffix = LogSuffix,
        LogSuffixBytesMax = LogSuffixBytesMax,
        ViewChangeCommittedBytesMax = ViewChangeCommittedBytesMax,
        PipelineMax = PipelineMax,
        ClientsMax = ClientsMax,
        RequestSizeMax = RequestSizeMax,
        PipelineBytesMax = PipelineBytesMax,
        MessageSizeMax = MessageSizeMax,
    };

    /// <summary>The key to use: <see cref="Key"/>, else the one in <see cref="KeyFile"/>, else none.</summary>
    public ClusterKey? ResolveKey() => Key ?? (KeyFile is null ? null : ClusterKey.Load(KeyFile));

    /// <summary>The TLS credentials to use: <see cref="Tls"/>, else those the <c>Tls*File</c> options name, else none.</summary>
    public TlsCredentials? ResolveTls() =>
        Tls ?? (TlsCertificateFile is null || TlsAuthorityFile is null ? null : TlsCredentials.Load(TlsCertificateFile, TlsKeyFile, TlsAuthorityFile, TlsCertificatePassword));

    private static void Positive(List<string> errors, int value, string name)
    {
        if (value < 1)
        {
            errors.Add($"{name} must be at least 1, not {value}");
        }
    }

    private static void PositiveTime(List<string> errors, TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{name} must be positive, not {value}");
        }
    }
}
