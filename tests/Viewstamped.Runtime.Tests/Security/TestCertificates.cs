using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Viewstamped.Runtime.Security;

namespace Viewstamped.Runtime.Tests.Security;

/// <summary>A throw-away certificate authority made in the test, issuing ECDSA P-256 leaf certificates.</summary>
public sealed class TestCertificates : IDisposable
{
    private readonly ECDsa authorityKey;

    public TestCertificates(string name = "Viewstamped test CA")
    {
        authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", authorityKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>The CA certificate (with its private key).</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>The name of replica <paramref name="replica"/>'s certificate: <c>replica-I</c>, plus a URI naming the cluster and the index (see <see cref="CertificateIdentity"/>).</summary>
    public static string ReplicaName(UInt128 cluster, int replica) => $"replica-{replica}|{CertificateIdentity.ReplicaUri(cluster, new ReplicaIndex((byte)replica))}";

    /// <summary>
    /// A leaf certificate for <paramref name="name"/>, with its private key, usable as TLS server and client.
    /// A name <c>CN|URI|URI...</c> also puts the URIs in the subject alternative name (<see cref="ReplicaName"/>).
    /// </summary>
    public X509Certificate2 Issue(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parts = name.Split('|');
        var request = new CertificateRequest($"CN={parts[0]}", key, HashAlgorithmName.SHA256);
        if (parts.Length > 1)
        {
            var alternative = new SubjectAlternativeNameBuilder();
            foreach (var uri in parts.Skip(1))
            {
                alternative.AddUri(new Uri(uri));
            }

            request.CertificateExtensions.Add(alternative.Build());
        }

        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(Authority, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddHours(12), serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Credentials for <paramref name="name"/> that trust this CA.</summary>
    public TlsCredentials Credentials(string name) => new(Issue(name), [X509CertificateLoader.LoadCertificate(Authority.RawData)]);

    /// <summary>Writes a leaf for <paramref name="name"/> as PEM certificate and key files, and the CA as a PEM file, into <paramref name="directory"/>.</summary>
    public (string Certificate, string Key, string Authority) WritePem(string directory, string name)
    {
        using var leaf = Issue(name);
        var file = name.Split('|')[0];
        var certificate = Path.Combine(directory, $"{file}.crt");
        var key = Path.Combine(directory, $"{file}.key");
        var authority = Path.Combine(directory, "ca.crt");
        File.WriteAllText(certificate, leaf.ExportCertificatePem());
        File.WriteAllText(key, leaf.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(authority, Authority.ExportCertificatePem());
        return (certificate, key, authority);
    }

    /// <summary>Writes a leaf for <paramref name="name"/> as a PKCS#12 file protected by <paramref name="password"/>.</summary>
    public string WritePkcs12(string directory, string name, string password)
    {
        using var leaf = Issue(name);
        var path = Path.Combine(directory, $"{name.Split('|')[0]}.p12");
        File.WriteAllBytes(path, leaf.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, password));
        return path;
    }

    public void Dispose()
    {
        Authority.Dispose();
        authorityKey.Dispose();
    }
}
