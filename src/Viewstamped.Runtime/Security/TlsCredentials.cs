using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Viewstamped.Runtime.Security;

/// <summary>
/// Mutual TLS, the alternative to (or companion of) the <see cref="ClusterKey"/>: this side's
/// certificate with its private key, and the cluster's certificate authorities. Every connection,
/// between replicas and from clients, runs TLS 1.2 or 1.3 first, both sides present a certificate,
/// and each accepts the other's only when it chains to one of the <see cref="Authorities"/> (no system
/// roots, no revocation lookups, host names not compared: membership of the cluster is what the
/// certificate proves). A replica's certificate also names the replica it speaks for
/// (<see cref="CertificateIdentity"/>): the handshake that follows, inside TLS, accepts a claim to be
/// replica I only with a certificate naming replica I, and a dialer accepts at replica I's endpoint
/// only a certificate naming replica I. Frames then travel encrypted and integrity-protected by TLS.
/// </summary>
public sealed class TlsCredentials : IDisposable
{
    /// <summary>Uses <paramref name="certificate"/> (which must hold its private key) and trusts <paramref name="authorities"/>.</summary>
    public TlsCredentials(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(authorities);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"The certificate {certificate.Subject} has no private key", nameof(certificate));
        }

        if (authorities.Count == 0)
        {
            throw new ArgumentException("At least one certificate authority is needed", nameof(authorities));
        }

        Certificate = certificate;
        Authorities = authorities;
    }

    /// <summary>This side's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate authorities a peer's certificate must chain to.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>
    /// Loads the credentials from files: <paramref name="certificateFile"/> is a PEM certificate whose
    /// private key is in <paramref name="keyFile"/> (or in the same file when that is null), or, when it
    /// ends in <c>.pfx</c> or <c>.p12</c>, a PKCS#12 bundle opened with <paramref name="password"/>.
    /// <paramref name="authorityFile"/> holds one or more PEM certificates: the cluster's CA.
    /// </summary>
    /// <exception cref="IOException">A file is missing or unreadable.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">A file does not hold what it should.</exception>
    public static TlsCredentials Load(string certificateFile, string? keyFile, string authorityFile, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(certificateFile);
        ArgumentNullException.ThrowIfNull(authorityFile);
        var certificate = IsPkcs12(certificateFile)
            ? X509CertificateLoader.LoadPkcs12FromFile(certificateFile, password)
            : X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        var authorities = new X509Certificate2Collection();
        authorities.ImportFromPemFile(authorityFile);
        if (authorities.Count == 0)
        {
            certificate.Dispose();
            throw new System.Security.Cryptography.CryptographicException($"{authorityFile} holds no PEM certificate: it must hold the cluster's certificate authority");
        }

        return new TlsCredentials(certificate, authorities);
    }

    /// <summary>Adds to <paramref name="errors"/> what is wrong with a set of TLS file options.</summary>
    internal static void Validate(List<string> errors, string? certificateFile, string? keyFile, string? authorityFile)
    {
        if (certificateFile is null && keyFile is null && authorityFile is null)
        {
            return;
        }

        if (certificateFile is null || authorityFile is null)
        {
            errors.Add("TLS needs both TlsCertificateFile and TlsAuthorityFile (and TlsKeyFile unless the key is in the certificate file)");
        }

        foreach (var (name, file) in new[] { ("TlsCertificateFile", certificateFile), ("TlsKeyFile", keyFile), ("TlsAuthorityFile", authorityFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                errors.Add($"{name} {file} does not exist");
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var authority in Authorities)
        {
            authority.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"TLS as {Certificate.Subject} (CA {string.Join(", ", Authorities.Select(a => a.Subject))})";

    /// <summary>
    /// Runs the server side of TLS on an accepted connection; throws <see cref="TlsRefusedException"/> with the reason when the client is refused.
    /// Which replica the client's certificate may claim to be is for the handshake that follows to check (<see cref="CertificateIdentity"/>).
    /// </summary>
    internal async Task<SslStream> AcceptAsync(Stream inner, CancellationToken cancellationToken)
    {
        var check = new PeerCheck(this, null);
        var ssl = new SslStream(inner, leaveInnerStreamOpen: true);
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = SslStreamCertificateContext.Create(Certificate, null, offline: true),
            ClientCertificateRequired = true,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = check.Validate,
        };
        await AuthenticateAsync(ssl, check, () => ssl.AuthenticateAsServerAsync(options, cancellationToken)).ConfigureAwait(false);
        return ssl;
    }

    /// <summary>
    /// Runs the client side of TLS on a new connection; throws <see cref="TlsRefusedException"/> with the reason when it fails.
    /// With <paramref name="expected"/>, the server's certificate must name that replica (<see cref="CertificateIdentity"/>).
    /// </summary>
    internal async Task<SslStream> ConnectAsync(Stream inner, string targetHost, CancellationToken cancellationToken, TlsPeer? expected = null)
    {
        var check = new PeerCheck(this, expected);
        var ssl = new SslStream(inner, leaveInnerStreamOpen: true);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = targetHost,
            ClientCertificateContext = SslStreamCertificateContext.Create(Certificate, null, offline: true),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = check.Validate,
        };
        await AuthenticateAsync(ssl, check, () => ssl.AuthenticateAsClientAsync(options, cancellationToken)).ConfigureAwait(false);
        return ssl;
    }

    /// <summary>
    /// Why <paramref name="certificate"/> does not chain to the <see cref="Authorities"/> (with
    /// <paramref name="intermediates"/> as the links between), in words after "the certificate", or null when it does.
    /// </summary>
    public string? CheckChain(X509Certificate2 certificate, IEnumerable<X509Certificate2>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        using var verifier = new X509Chain();
        verifier.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        verifier.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        verifier.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        foreach (var intermediate in intermediates ?? [])
        {
            verifier.ChainPolicy.ExtraStore.Add(intermediate);
        }

        if (verifier.Build(certificate))
        {
            return null;
        }

        var problems = verifier.ChainStatus.Select(s => s.Status.ToString()).Distinct();
        return $"({certificate.Subject}) does not chain to the cluster's certificate authority ({string.Join(", ", problems)})";
    }

    private static async Task AuthenticateAsync(SslStream ssl, PeerCheck check, Func<Task> authenticate)
    {
        try
        {
            await authenticate().ConfigureAwait(false);
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new TlsRefusedException(check.Rejection ?? $"the TLS handshake failed: {e.Message}", e);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static bool IsPkcs12(string file) =>
        file.EndsWith(".pfx", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".p12", StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks the remote certificate against the cluster's authorities (and the replica it must name) and remembers why it refused.</summary>
    private sealed class PeerCheck(TlsCredentials credentials, TlsPeer? expected)
    {
        public string? Rejection { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (certificate is null)
            {
                Rejection = "it presented no TLS certificate";
                return false;
            }

            using var remote = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            var intermediates = chain?.ChainElements.Skip(1).Select(e => e.Certificate) ?? []; // the ones the peer sent along
            if (credentials.CheckChain(remote, intermediates) is { } problem)
            {
                Rejection = $"its TLS certificate {problem}";
                return false;
            }

            if (expected is { } peer && !CertificateIdentity.Names(remote, peer.Cluster, peer.Replica))
            {
                Rejection = $"its TLS certificate is {CertificateIdentity.Describe(remote, peer.Cluster)}, and replica {peer.Replica} was expected at this endpoint";
                return false;
            }

            return true;
        }
    }
}

/// <summary>The replica a connection is opened to, whose TLS certificate must name it.</summary>
internal sealed record TlsPeer(UInt128 Cluster, ReplicaIndex Replica);

/// <summary>A TLS handshake that failed or a peer certificate that was refused; the message says why.</summary>
public sealed class TlsRefusedException(string message, Exception? inner = null) : IOException(message, inner);
