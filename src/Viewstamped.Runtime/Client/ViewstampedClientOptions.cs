using Viewstamped.Codec;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Runtime.Client;

/// <summary>How a <see cref="ViewstampedClient"/> reaches its cluster and how long it waits.</summary>
public sealed class ViewstampedClientOptions
{
    /// <summary>The cluster id.</summary>
    public UInt128 Cluster { get; set; }

    /// <summary>Every replica's <c>HOST:PORT</c>, in index order, as the replicas are configured.</summary>
    public List<string> Replicas { get; } = [];

    /// <summary>The cluster key; required when the replicas have one, refused when they do not.</summary>
    public ClusterKey? Key { get; set; }

    /// <summary>The file holding the cluster key; ignored when <see cref="Key"/> is set.</summary>
    public string? KeyFile { get; set; }

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

    /// <summary>
    /// Sessions the client registers, at most; each carries one request at a time, so this is the
    /// client's concurrency. Sessions are registered as invocations need them. Default 8.
    /// </summary>
    public int Sessions { get; set; } = 8;

    /// <summary>The length of one client tick. Default 10 ms.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Ticks without a reply before a session re-sends its request to every replica. Default 50 (0.5 s).</summary>
    public int ResendTicks { get; set; } = 50;

    /// <summary>
    /// How long <see cref="ViewstampedClient.InvokeAsync(byte[], CancellationToken)"/> waits. An invocation
    /// still unanswered then fails with <see cref="OutcomeUnknownException"/> if it was sent, or
    /// <see cref="TimeoutException"/> if it never was. Default 10 s.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The largest frame accepted or sent, header included. Default 16 MiB.</summary>
    public int MessageSizeMax { get; set; } = WireLayout.DefaultMessageSizeMax;

    /// <summary>Frames queued per connection; beyond it frames are dropped and the session's resend covers them. Default 1024.</summary>
    public int SendQueueCapacity { get; set; } = 1024;

    /// <summary>Time to establish a TCP connection. Default 2 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Time to complete the handshake. Default 5 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First reconnection delay; doubles up to <see cref="ReconnectDelayMax"/>. Default 50 ms.</summary>
    public TimeSpan ReconnectDelayMin { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest reconnection delay. Default 1 s.</summary>
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

        if (Sessions < 1)
        {
            errors.Add($"Sessions must be at least 1, not {Sessions}");
        }

        if (ResendTicks < 1)
        {
            errors.Add($"ResendTicks must be at least 1, not {ResendTicks}");
        }

        if (TickInterval < TimeSpan.FromMilliseconds(1))
        {
            errors.Add($"TickInterval must be at least 1 ms, not {TickInterval}");
        }

        if (RequestTimeout <= TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero || HandshakeTimeout <= TimeSpan.Zero || ReconnectDelayMin <= TimeSpan.Zero)
        {
            errors.Add("RequestTimeout, ConnectTimeout, HandshakeTimeout and ReconnectDelayMin must be positive");
        }

        if (ReconnectDelayMax < ReconnectDelayMin)
        {
            errors.Add("ReconnectDelayMax must not be below ReconnectDelayMin");
        }

        if (MessageSizeMax is < WireLayout.HeaderSize or > WireLayout.MessageSizeMaxLimit)
        {
            errors.Add($"MessageSizeMax must be {WireLayout.HeaderSize} to {WireLayout.MessageSizeMaxLimit}, not {MessageSizeMax}");
        }

        if (SendQueueCapacity < 1)
        {
            errors.Add($"SendQueueCapacity must be at least 1, not {SendQueueCapacity}");
        }

        if (Key is null && KeyFile is not null && !File.Exists(KeyFile))
        {
            errors.Add($"KeyFile {KeyFile} does not exist");
        }

        if (Tls is null)
        {
            TlsCredentials.Validate(errors, TlsCertificateFile, TlsKeyFile, TlsAuthorityFile);
        }

        return errors;
    }

    /// <summary>The TLS credentials to use: <see cref="Tls"/>, else those the <c>Tls*File</c> options name, else none.</summary>
    public TlsCredentials? ResolveTls() =>
        Tls ?? (TlsCertificateFile is null || TlsAuthorityFile is null ? null : TlsCredentials.Load(TlsCertificateFile, TlsKeyFile, TlsAuthorityFile, TlsCertificatePassword));
}
