using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Viewstamped.Codec;

namespace Viewstamped.Runtime.Security;

/// <summary>Who opened a connection.</summary>
internal enum PeerRole : byte
{
    /// <summary>Another replica of the cluster.</summary>
    Replica = 1,

    /// <summary>A client.</summary>
    Client = 2,
}

/// <summary>A handshake's outcome as the acceptor tells it; anything but <see cref="Ok"/> refuses the connection.</summary>
internal enum HandshakeStatus : byte
{
    Ok = 0,
    WrongCluster = 1,
    Unauthenticated = 2,
    KeyNotConfigured = 3,
    WrongKey = 4,
    TooManyConnections = 5,
    BadReplica = 6,
    UnsupportedVersion = 7,
    ShuttingDown = 8,
    Malformed = 9,

    /// <summary>Local only, never on the wire: the TLS handshake before this one failed or refused the peer's certificate.</summary>
    TlsRefused = 10,

    /// <summary>The initiator claims a replica index its TLS certificate does not name (<see cref="CertificateIdentity"/>).</summary>
    NotCertified = 11,
}

/// <summary>A handshake that failed, with the reason to log; the connection must be closed.</summary>
internal sealed class HandshakeException(HandshakeStatus status, string message) : Exception(message)
{
    public HandshakeStatus Status { get; } = status;

    /// <summary>A short reason code for metrics.</summary>
    public string Code => Handshake.Code(Status);
}

/// <summary>What a successful handshake established.</summary>
/// <param name="RemoteRole">Whether a replica or a client is at the other end.</param>
/// <param name="RemoteReplica">The replica at the other end, or <see cref="ReplicaIndex.None"/> for a client.</param>
/// <param name="Signer">Tags the frames this side sends, when a key is in use.</param>
/// <param name="Verifier">Checks the tags of the frames this side receives, when a key is in use.</param>
/// <param name="SendsTraceContext">Frames this side sends carry a <see cref="Transport.TraceContextExtension"/>.</param>
/// <param name="ReceivesTraceContext">Frames this side receives carry one.</param>
internal sealed record HandshakeResult(
    PeerRole RemoteRole, ReplicaIndex RemoteReplica, FrameAuthenticator? Signer, FrameAuthenticator? Verifier, bool SendsTraceContext = false, bool ReceivesTraceContext = false);

/// <summary>What an acceptor checks a connection against.</summary>
internal sealed record AcceptorSettings(UInt128 Cluster, ReplicaIndex Self, int ReplicaCount, ClusterKey? Key);

/// <summary>
/// The connection handshake, run before any protocol frame (docs/operations.md, "Wire and handshake").
/// Four fixed-size messages:
/// <list type="number">
/// <item>initiator → acceptor, <b>hello</b> (64 bytes): magic <c>VSRH</c>, version, role, replica index, cluster, flags (bit 0: has a key; bit 1: offers trace context), a fresh 32-byte nonce;</item>
/// <item>acceptor → initiator, <b>challenge</b> (64 bytes): the same layout with a status instead of the role, the acceptor's index and its own fresh nonce (bit 1 echoed: trace context agreed); a status other than Ok refuses;</item>
/// <item>initiator → acceptor, <b>proof</b> (32 bytes): HMAC-SHA256(key, "VSR1 initiator proof" || hello || challenge);</item>
/// <item>acceptor → initiator, <b>verdict</b> (40 bytes): status, 7 zero bytes, HMAC-SHA256(key, "VSR1 acceptor proof" || hello || challenge).</item>
/// </list>
/// Both sides then derive one session key per direction, HMAC-SHA256(key, label || hello || challenge),
/// and tag every frame with a <see cref="FrameAuthenticator"/>. Without a key on either side the proofs are
/// zero and frames carry no tag; a side with a key refuses a side without one, and the reverse.
/// </summary>
internal static class Handshake
{
    public const uint Magic = 0x4852_5356; // "VSRH" little-endian
    public const ushort Version = 1;
    public const int GreetingSize = 64;
    public const int ProofSize = 32;
    public const int VerdictSize = 40;
    private const int NonceOffset = 32;
    private const byte HasKeyFlag = 1;
    private const byte TraceContextFlag = 2;

    private static readonly byte[] initiatorProofLabel = Encoding.ASCII.GetBytes("VSR1 initiator proof");
    private static readonly byte[] acceptorProofLabel = Encoding.ASCII.GetBytes("VSR1 acceptor proof");
    private static readonly byte[] initiatorToAcceptorLabel = Encoding.ASCII.GetBytes("VSR1 session initiator to acceptor");
    private static readonly byte[] acceptorToInitiatorLabel = Encoding.ASCII.GetBytes("VSR1 session acceptor to initiator");

    /// <summary>
    /// Opens a connection as <paramref name="role"/>; throws <see cref="HandshakeException"/> when refused.
    /// With <paramref name="traceContext"/> it offers to attach a trace context to every frame it sends,
    /// which it then does if the acceptor agrees.
    /// </summary>
    public static async Task<HandshakeResult> InitiateAsync(
        Stream stream, UInt128 cluster, PeerRole role, ReplicaIndex self, ReplicaIndex? expected, ClusterKey? key, bool traceContext, CancellationToken cancellationToken)
    {
        var hello = new byte[GreetingSize];
        WriteGreeting(hello, (byte)role, self, cluster, key is not null, traceContext);
        await stream.WriteAsync(hello, cancellationToken).ConfigureAwait(false);
        var challenge = new byte[GreetingSize];
        await ReadExactlyAsync(stream, challenge, "challenge", cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt32LittleEndian(challenge) != Magic)
        {
            throw new HandshakeException(HandshakeStatus.Malformed, "the remote end did not answer with a handshake challenge");
        }

        var status = (HandshakeStatus)challenge[6];
        if (status != HandshakeStatus.Ok)
        {
            throw new HandshakeException(status, $"the replica refused the connection: {Describe(status)}");
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(challenge.AsSpan(4)) != Version)
        {
            throw new HandshakeException(HandshakeStatus.UnsupportedVersion, "the replica speaks another handshake version");
        }

        if (BinaryPrimitives.ReadUInt128LittleEndian(challenge.AsSpan(8)) != cluster)
        {
            throw new HandshakeException(HandshakeStatus.WrongCluster, "the replica belongs to another cluster");
        }

        var remote = new ReplicaIndex(challenge[7]);
        if (expected is { } wanted && remote != wanted)
        {
            throw new HandshakeException(HandshakeStatus.BadReplica, $"expected replica {wanted}, found replica {remote}: the configurations differ");
        }

        var remoteHasKey = (challenge[24] & HasKeyFlag) != 0;
        if (remoteHasKey != key is not null)
        {
            throw key is null
                ? new HandshakeException(HandshakeStatus.Unauthenticated, "the replica requires a cluster key and none is configured here")
                : new HandshakeException(HandshakeStatus.KeyNotConfigured, "the replica runs without a cluster key; refusing to talk to it unauthenticated");
        }

        var proof = key is null ? new byte[ProofSize] : Mac(key, initiatorProofLabel, hello, challenge);
        await stream.WriteAsync(proof, cancellationToken).ConfigureAwait(false);
        var verdict = new byte[VerdictSize];
        await ReadExactlyAsync(stream, verdict, "verdict", cancellationToken).ConfigureAwait(false);
        status = (HandshakeStatus)verdict[0];
        if (status != HandshakeStatus.Ok)
        {
            throw new HandshakeException(status, $"the replica refused the connection: {Describe(status)}");
        }

        var tracing = traceContext && (challenge[24] & TraceContextFlag) != 0;
        if (key is null)
        {
            return new HandshakeResult(PeerRole.Replica, remote, null, null, tracing);
        }

        if (!CryptographicOperations.FixedTimeEquals(verdict.AsSpan(8, 32), Mac(key, acceptorProofLabel, hello, challenge)))
        {
            throw new HandshakeException(HandshakeStatus.WrongKey, "the replica did not prove knowledge of the cluster key (wrong key?)");
        }

        return new HandshakeResult(
            PeerRole.Replica,
            remote,
            new FrameAuthenticator(Mac(key, initiatorToAcceptorLabel, hello, challenge)),
            new FrameAuthenticator(Mac(key, acceptorToInitiatorLabel, hello, challenge)),
            tracing);
    }

    /// <summary>
    /// Accepts a connection; throws <see cref="HandshakeException"/> after telling the initiator why it
    /// is refused. <paramref name="refusal"/>, when not Ok, refuses it after reading the hello (a limit).
    /// </summary>
    /// <param name="stream">The connection, inside TLS when that is configured.</param>
    /// <param name="settings">What the connection is checked against.</param>
    /// <param name="refusal">A refusal decided before the hello (a limit), or Ok.</param>
    /// <param name="certificate">The initiator's TLS certificate, already chained to the cluster's CA; null without TLS. An initiator that claims a replica index must hold a certificate that names it.</param>
    /// <param name="cancellationToken">Ends the handshake.</param>
    public static async Task<HandshakeResult> AcceptAsync(
        Stream stream, AcceptorSettings settings, HandshakeStatus refusal, X509Certificate2? certificate, CancellationToken cancellationToken)
    {
        var hello = new byte[GreetingSize];
        await ReadExactlyAsync(stream, hello, "hello", cancellationToken).ConfigureAwait(false);
        var magic = BinaryPrimitives.ReadUInt32LittleEndian(hello);
        if (magic != Magic)
        {
            throw new HandshakeException(
                HandshakeStatus.Malformed,
                magic == WireLayout.Magic
                    ? "it sent a protocol frame before authenticating"
                    : "it did not start with a handshake");
        }

        var role = (PeerRole)hello[6];
        var replica = new ReplicaIndex(hello[7]);
        var hasKey = (hello[24] & HasKeyFlag) != 0;
        var tracing = (hello[24] & TraceContextFlag) != 0;
        var (status, reason) = Check(settings, hello, role, replica, hasKey, refusal, certificate);
        var challenge = new byte[GreetingSize];
        WriteGreeting(challenge, (byte)status, settings.Self, settings.Cluster, settings.Key is not null, tracing);
        await stream.WriteAsync(challenge, cancellationToken).ConfigureAwait(false);
        if (status != HandshakeStatus.Ok)
        {
            throw new HandshakeException(status, reason);
        }

        var proof = new byte[ProofSize];
        await ReadExactlyAsync(stream, proof, "proof", cancellationToken).ConfigureAwait(false);
        var verdict = new byte[VerdictSize];
        var key = settings.Key;
        if (key is not null && !CryptographicOperations.FixedTimeEquals(proof, Mac(key, initiatorProofLabel, hello, challenge)))
        {
            verdict[0] = (byte)HandshakeStatus.WrongKey;
            await stream.WriteAsync(verdict, cancellationToken).ConfigureAwait(false);
            throw new HandshakeException(HandshakeStatus.WrongKey, $"it failed to prove knowledge of the cluster key (wrong key) as {Describe(role, replica)}");
        }

        if (key is null)
        {
            await stream.WriteAsync(verdict, cancellationToken).ConfigureAwait(false);
            return new HandshakeResult(role, replica, null, null, ReceivesTraceContext: tracing);
        }

        Mac(key, acceptorProofLabel, hello, challenge).CopyTo(verdict, 8);
        await stream.WriteAsync(verdict, cancellationToken).ConfigureAwait(false);
        return new HandshakeResult(
            role,
            replica,
            new FrameAuthenticator(Mac(key, acceptorToInitiatorLabel, hello, challenge)),
            new FrameAuthenticator(Mac(key, initiatorToAcceptorLabel, hello, challenge)),
            ReceivesTraceContext: tracing);
    }

    /// <summary>The reason, in words, for a status.</summary>
    public static string Describe(HandshakeStatus status) => status switch
    {
        HandshakeStatus.Ok => "accepted",
        HandshakeStatus.WrongCluster => "it belongs to another cluster",
        HandshakeStatus.Unauthenticated => "it offered no authentication and the cluster key is required",
        HandshakeStatus.KeyNotConfigured => "it wants to authenticate with a cluster key and the replica has none",
        HandshakeStatus.WrongKey => "it failed to prove knowledge of the cluster key (wrong key)",
        HandshakeStatus.TooManyConnections => "too many connections from its address",
        HandshakeStatus.BadReplica => "it claims a replica index that is not a peer's",
        HandshakeStatus.UnsupportedVersion => "it speaks another handshake version",
        HandshakeStatus.ShuttingDown => "the replica is shutting down",
        HandshakeStatus.TlsRefused => "mutual TLS failed",
        HandshakeStatus.NotCertified => "its TLS certificate does not name the replica it claims to be",
        _ => "a malformed handshake",
    };

    /// <summary>A short code for metrics tags.</summary>
    public static string Code(HandshakeStatus status) => status switch
    {
        HandshakeStatus.Ok => "ok",
        HandshakeStatus.WrongCluster => "wrong_cluster",
        HandshakeStatus.Unauthenticated => "unauthenticated",
        HandshakeStatus.KeyNotConfigured => "key_not_configured",
        HandshakeStatus.WrongKey => "wrong_key",
        HandshakeStatus.TooManyConnections => "too_many_connections",
        HandshakeStatus.BadReplica => "bad_replica",
        HandshakeStatus.UnsupportedVersion => "unsupported_version",
        HandshakeStatus.ShuttingDown => "shutting_down",
        HandshakeStatus.TlsRefused => "tls",
        HandshakeStatus.NotCertified => "not_certified",
        _ => "malformed_handshake",
    };

    private static (HandshakeStatus Status, string Reason) Check(
        AcceptorSettings settings, byte[] hello, PeerRole role, ReplicaIndex replica, bool hasKey, HandshakeStatus refusal, X509Certificate2? certificate)
    {
        if (BinaryPrimitives.ReadUInt16LittleEndian(hello.AsSpan(4)) != Version)
        {
            return (HandshakeStatus.UnsupportedVersion, Describe(HandshakeStatus.UnsupportedVersion));
        }

        if (refusal != HandshakeStatus.Ok)
        {
            return (refusal, Describe(refusal));
        }

        if (BinaryPrimitives.ReadUInt128LittleEndian(hello.AsSpan(8)) != settings.Cluster)
        {
            return (HandshakeStatus.WrongCluster, $"it belongs to cluster {BinaryPrimitives.ReadUInt128LittleEndian(hello.AsSpan(8))}, not {settings.Cluster}");
        }

        var validRole = role switch
        {
            PeerRole.Client => replica == ReplicaIndex.None,
            PeerRole.Replica => replica.Value < settings.ReplicaCount && replica != settings.Self,
            _ => false,
        };
        if (!validRole)
        {
            return (HandshakeStatus.BadReplica, $"it claims to be {Describe(role, replica)}, which is not a peer of replica {settings.Self} in a group of {settings.ReplicaCount}");
        }

        if (certificate is not null && role == PeerRole.Replica && !CertificateIdentity.Names(certificate, settings.Cluster, replica))
        {
            return (HandshakeStatus.NotCertified, $"it claims to be replica {replica} and its TLS certificate is {CertificateIdentity.Describe(certificate, settings.Cluster)}");
        }

        if (settings.Key is not null && !hasKey)
        {
            return (HandshakeStatus.Unauthenticated, $"{Describe(role, replica)} offered no authentication and this replica requires the cluster key");
        }

        if (settings.Key is null && hasKey)
        {
            return (HandshakeStatus.KeyNotConfigured, $"{Describe(role, replica)} wants to authenticate and this replica has no cluster key");
        }

        return (HandshakeStatus.Ok, string.Empty);
    }

    private static string Describe(PeerRole role, ReplicaIndex replica) =>
        role == PeerRole.Replica ? $"replica {replica}" : role == PeerRole.Client ? "a client" : $"unknown role {(byte)role}";

    private static void WriteGreeting(Span<byte> greeting, byte roleOrStatus, ReplicaIndex replica, UInt128 cluster, bool hasKey, bool traceContext)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(greeting, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(greeting[4..], Version);
        greeting[6] = roleOrStatus;
        greeting[7] = replica.Value;
        BinaryPrimitives.WriteUInt128LittleEndian(greeting[8..], cluster);
        greeting[24] = (byte)((hasKey ? HasKeyFlag : 0) | (traceContext ? TraceContextFlag : 0));
        RandomNumberGenerator.Fill(greeting[NonceOffset..]);
    }

    private static byte[] Mac(ClusterKey key, byte[] label, byte[] hello, byte[] challenge)
    {
        var data = new byte[label.Length + hello.Length + challenge.Length];
        label.CopyTo(data, 0);
        hello.CopyTo(data, label.Length);
        challenge.CopyTo(data, label.Length + hello.Length);
        return HMACSHA256.HashData(key.Bytes, data);
    }

    private static async Task ReadExactlyAsync(Stream stream, byte[] buffer, string what, CancellationToken cancellationToken)
    {
        try
        {
            await stream.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (EndOfStreamException)
        {
            throw new HandshakeException(HandshakeStatus.Malformed, $"the connection closed before the handshake's {what}");
        }
    }
}
