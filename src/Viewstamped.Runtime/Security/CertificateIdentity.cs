using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Runtime.Security;

/// <summary>
/// Which replica a TLS certificate speaks for. A replica's certificate carries, in its subject
/// alternative name, the URI <c>vsr://cluster/CLUSTER/replica/INDEX</c> (<see cref="ReplicaUri"/>;
/// CLUSTER in hex with <c>0x</c> or in decimal, INDEX in decimal). A connection may claim to be
/// replica INDEX of cluster CLUSTER only with a certificate that names it; a certificate naming no
/// replica (a client's) can only connect as a client. Chaining to the cluster's CA proves
/// membership; this binds the membership to one place in the configuration, so that one client
/// certificate, leaked or issued to an untrusted party, cannot stand in for a replica.
/// </summary>
public static class CertificateIdentity
{
    private static readonly Asn1Tag uniformResourceIdentifier = new(TagClass.ContextSpecific, 6);

    /// <summary>The URI a certificate of replica <paramref name="replica"/> of <paramref name="cluster"/> carries.</summary>
    public static string ReplicaUri(UInt128 cluster, ReplicaIndex replica) =>
        $"vsr://cluster/{StorageIdentity.FormatCluster(cluster)}/replica/{replica.Value.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The replicas of <paramref name="cluster"/> that <paramref name="certificate"/> names; empty for a client's certificate.</summary>
    public static IReadOnlyList<ReplicaIndex> Replicas(X509Certificate2 certificate, UInt128 cluster)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var replicas = new List<ReplicaIndex>();
        foreach (var uri in Uris(certificate))
        {
            if (TryParse(uri, out var named, out var replica) && named == cluster && !replicas.Contains(replica))
            {
                replicas.Add(replica);
            }
        }

        return replicas;
    }

    /// <summary>Whether <paramref name="certificate"/> names replica <paramref name="replica"/> of <paramref name="cluster"/>.</summary>
    public static bool Names(X509Certificate2 certificate, UInt128 cluster, ReplicaIndex replica) => Replicas(certificate, cluster).Contains(replica);

    /// <summary>What <paramref name="certificate"/> names in <paramref name="cluster"/>, in words, for logs and errors.</summary>
    public static string Describe(X509Certificate2 certificate, UInt128 cluster)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var replicas = Replicas(certificate, cluster);
        return replicas.Count == 0
            ? $"{certificate.Subject}, which names no replica of cluster {StorageIdentity.FormatCluster(cluster)}"
            : $"{certificate.Subject}, which names replica {string.Join(", ", replicas)}";
    }

    /// <summary>Reads a <c>vsr://cluster/CLUSTER/replica/INDEX</c> URI.</summary>
    public static bool TryParse(string uri, out UInt128 cluster, out ReplicaIndex replica)
    {
        cluster = 0;
        replica = default;
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed) || parsed.Scheme != "vsr" || !string.Equals(parsed.Host, "cluster", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var segments = parsed.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Length != 3 || segments[1] != "replica"
            || !StorageIdentity.TryParseCluster(segments[0], out cluster, out _)
            || !byte.TryParse(segments[2], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            || index == ReplicaIndex.None.Value)
        {
            return false;
        }

        replica = new ReplicaIndex(index);
        return true;
    }

    /// <summary>The URIs in the certificate's subject alternative name.</summary>
    private static List<string> Uris(X509Certificate2 certificate)
    {
        var uris = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }

            try
            {
                var names = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
                while (names.HasData)
                {
                    if (names.PeekTag() == uniformResourceIdentifier)
                    {
                        uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uniformResourceIdentifier));
                    }
                    else
                    {
                        names.ReadEncodedValue();
                    }
                }
            }
            catch (Exception e) when (e is AsnContentException or CryptographicException)
            {
                // A malformed extension names nothing.
            }
        }

        return uris;
    }
}
