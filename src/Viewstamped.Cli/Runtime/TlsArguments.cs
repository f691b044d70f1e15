using System.CommandLine;
using System.Security.Cryptography;
using Viewstamped.Runtime.Security;

namespace Viewstamped.Cli.Runtime;

/// <summary>
/// The <c>--tls-cert</c>, <c>--tls-key</c> and <c>--tls-ca</c> options of the commands that run or reach
/// a replica with mutual TLS, and the one check of the files they name: each exists and is readable,
/// the key matches the certificate, and the certificate chains to the authority. A command reports
/// what is wrong in a sentence instead of failing later with a stack trace or a refused connection.
/// </summary>
internal sealed class TlsArguments
{
    public TlsArguments(string whose)
    {
        Certificate = new Option<string?>("--tls-cert") { Description = $"Mutual TLS: {whose} certificate (PEM, or PKCS#12 .pfx/.p12 holding the key)." };
        Key = new Option<string?>("--tls-key") { Description = "Mutual TLS: the PEM private key of --tls-cert, unless that file holds it." };
        Authority = new Option<string?>("--tls-ca") { Description = "Mutual TLS: the cluster's certificate authority (PEM); every peer and client certificate must chain to it." };
    }

    public Option<string?> Certificate { get; }

    public Option<string?> Key { get; }

    public Option<string?> Authority { get; }

    /// <summary>The three options, to add to a command.</summary>
    public IEnumerable<Option> All => [Certificate, Key, Authority];

    /// <summary>The files given on the command line, or null when none of the options was.</summary>
    public SecurityConfig? Get(ParseResult parse)
    {
        var config = new SecurityConfig
        {
            TlsCertificateFile = parse.GetValue(Certificate),
            TlsKeyFile = parse.GetValue(Key),
            TlsAuthorityFile = parse.GetValue(Authority),
        };
        return config is { TlsCertificateFile: null, TlsKeyFile: null, TlsAuthorityFile: null } ? null : config;
    }

    /// <summary>
    /// Loads the files of <paramref name="tls"/> once. Returns what is wrong with them as a sentence
    /// (naming <paramref name="source"/>, where they came from, when not the command line), or null when they can be used.
    /// With <paramref name="replica"/>, the certificate must name that replica (<see cref="CertificateIdentity"/>).
    /// </summary>
    public static string? Check(SecurityConfig tls, string? source = null, (UInt128 Cluster, ReplicaIndex Index)? replica = null)
    {
        ArgumentNullException.ThrowIfNull(tls);
        var from = source is null ? string.Empty : $" (named in {source})";
        if (tls.TlsCertificateFile is null || tls.TlsAuthorityFile is null)
        {
            return $"mutual TLS needs --tls-cert and --tls-ca (and --tls-key unless the certificate file holds the key){from}";
        }

        foreach (var (option, file) in new[] { ("--tls-cert", tls.TlsCertificateFile), ("--tls-key", tls.TlsKeyFile), ("--tls-ca", tls.TlsAuthorityFile) })
        {
            if (file is not null && !File.Exists(file))
            {
                return $"{option} {file}: no such file{from}";
            }
        }

        try
        {
            using var credentials = TlsCredentials.Load(tls.TlsCertificateFile, tls.TlsKeyFile, tls.TlsAuthorityFile);
            if (credentials.CheckChain(credentials.Certificate) is { } problem)
            {
                return $"the certificate {tls.TlsCertificateFile} {problem} in {tls.TlsAuthorityFile}{from}";
            }

            if (replica is { } r && !CertificateIdentity.Names(credentials.Certificate, r.Cluster, r.Index))
            {
                return $"the certificate {tls.TlsCertificateFile} is {CertificateIdentity.Describe(credentials.Certificate, r.Cluster)}{from}: "
                    + $"a certificate of replica {r.Index} must carry the URI {CertificateIdentity.ReplicaUri(r.Cluster, r.Index)} in its subject alternative name";
            }

            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
        {
            var files = string.Join(", ", new[] { tls.TlsCertificateFile, tls.TlsKeyFile, tls.TlsAuthorityFile }.OfType<string>());
            return $"cannot use the TLS files {files}{from}: {e.Message}";
        }
    }
}
