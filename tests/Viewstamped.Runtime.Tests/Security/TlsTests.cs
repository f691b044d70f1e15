using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Hosting;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Runtime.Tests.Storage;
using Viewstamped.Runtime.Tests.Transport;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Security;

/// <summary>Mutual TLS between replicas and from clients, with certificates made in the test.</summary>
public class TlsTests
{
    private static readonly TimeSpan wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Replicas_and_clients_with_certificates_of_the_cluster_CA_serve_over_mutual_TLS()
    {
        using var ca = new TestCertificates();
        await using var cluster = await InProcessCluster.StartAsync(3, null, o => o.Tls = ca.Credentials(TestCertificates.ReplicaName(o.Cluster, o.Replica)));
        await using var client = cluster.CreateClient(null, o => o.Tls = ca.Credentials("client"));
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(i, Adder.Decode(await client.InvokeAsync(Adder.Encode(1))));
        }

        await WaitAsync(() => cluster.Hosts.All(h => h!.Status!.ExecutedOp.Value == cluster.Hosts[0]!.Status!.ExecutedOp.Value), "the backups to execute");
        Assert.All(cluster.Hosts, h => Assert.False(h!.IsUnauthenticated));
        Assert.All(cluster.Hosts, h => Assert.Equal(0, h!.Statistics.RefusedConnections));
        Assert.True(cluster.Logs.Contains("mutual TLS as CN=replica-0"), cluster.Logs.Dump());
        Assert.False(cluster.Logs.Contains("UNAUTHENTICATED"), cluster.Logs.Dump());
    }

    [Theory]
    [InlineData("other-ca", "does not chain to the cluster's certificate authority")]
    [InlineData("no-certificate", "presented no TLS certificate")]
    [InlineData("plain-tcp", "TLS handshake failed")]
    public async Task A_connection_without_a_certificate_of_the_cluster_CA_is_refused_with_a_logged_reason(string kind, string reason)
    {
        using var ca = new TestCertificates();
        using var otherCa = new TestCertificates("Another CA");
        await using var cluster = await InProcessCluster.StartAsync(1, null, o => o.Tls = ca.Credentials(TestCertificates.ReplicaName(o.Cluster, 0)));
        await using var client = cluster.CreateClient(null, o => o.Tls = ca.Credentials("client"));
        Assert.Equal(3, Adder.Decode(await client.InvokeAsync(Adder.Encode(3))));
        var host = cluster.Hosts[0]!;
        var before = host.Status!;

        switch (kind)
        {
            case "other-ca":
                await using (var intruder = cluster.CreateClient(null, o =>
                {
                    o.Tls = otherCa.Credentials("intruder");
                    o.RequestTimeout = TimeSpan.FromSeconds(1);
                }))
                {
                    await Assert.ThrowsAsync<TimeoutException>(() => intruder.InvokeAsync(Adder.Encode(100)));
                    Assert.True(intruder.Statistics.RefusedConnections >= 1);
                }

                break;
            case "no-certificate":
                await ConnectWithoutCertificateAsync(cluster.Endpoints[0]);
                break;
            default:
                await using (var raw = await RawConnection.ConnectAsync(cluster.Endpoints[0]))
                {
                    await Assert.ThrowsAnyAsync<Exception>(() => raw.HandshakeAsync(cluster.Cluster, null));
                }

                break;
        }

        // The refusal is counted before its reason is logged, so wait for both.
        await WaitAsync(() => host.Statistics.RefusedConnections >= 1, "the refusal");
        await WaitAsync(
            () => cluster.Logs.Entries.Any(e => e.Message.Contains("Refused connection from 127.0.0.1:", StringComparison.Ordinal) && e.Message.Contains(reason, StringComparison.Ordinal)),
            "the refusal's logged reason");
        Assert.Equal(before with { IgnoredMessages = host.Status!.IgnoredMessages }, host.Status);
        Assert.Equal(10, Adder.Decode(await client.InvokeAsync(Adder.Encode(7))));
    }

    [Fact]
    public async Task A_replica_with_a_certificate_of_another_CA_is_refused_by_its_peers_and_learns_nothing()
    {
        using var ca = new TestCertificates();
        using var otherCa = new TestCertificates("Another CA");
        await using var cluster = await InProcessCluster.StartAsync(3, null, o =>
        {
            o.Tls = (o.Replica == 2 ? otherCa : ca).Credentials(TestCertificates.ReplicaName(o.Cluster, o.Replica));
            o.ReconnectDelayMax = TimeSpan.FromMilliseconds(200);
        });
        await using var client = cluster.CreateClient(null, o => o.Tls = ca.Credentials("client"));
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, Adder.Decode(await client.InvokeAsync(Adder.Encode(1))));
        }

        await WaitAsync(() => cluster.Logs.Contains("does not chain to the cluster's certificate authority"), "a logged refusal of replica 2");
        Assert.Equal(0, cluster.Storages[2].EntryCount);
        Assert.Equal(0, cluster.Hosts[2]!.Statistics.FramesReceived);
    }

    [Theory]
    [InlineData("certificate-of-replica-1", null)]
    [InlineData("client-certificate", "which names no replica of cluster")]
    [InlineData("certificate-of-replica-2", "which names replica 2")]
    [InlineData("certificate-of-replica-1-of-another-cluster", "which names no replica of cluster")]
    public async Task A_peer_claiming_a_replica_index_its_certificate_does_not_name_is_refused_and_the_replica_keeps_serving(string kind, string? reason)
    {
        using var ca = new TestCertificates();
        await using var cluster = await InProcessCluster.StartAsync(3, null, o => o.Tls = ca.Credentials(TestCertificates.ReplicaName(o.Cluster, o.Replica)));
        await using var client = cluster.CreateClient(null, o => o.Tls = ca.Credentials("client"));
        Assert.Equal(3, Adder.Decode(await client.InvokeAsync(Adder.Encode(3))));
        var name = kind switch
        {
            "certificate-of-replica-1" => TestCertificates.ReplicaName(cluster.Cluster, 1),
            "certificate-of-replica-2" => TestCertificates.ReplicaName(cluster.Cluster, 2),
            "certificate-of-replica-1-of-another-cluster" => TestCertificates.ReplicaName(cluster.Cluster + 1, 1),
            _ => "client",
        };
        using var claimant = ca.Credentials(name);
        var host = cluster.Hosts[0]!;
        var refusedBefore = host.Statistics.RefusedConnections;

        // Claims to be replica 1, as a replica would, inside TLS with a certificate of the cluster's CA.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(wait);
        await socket.ConnectAsync(Viewstamped.Runtime.Transport.Endpoints.Parse(cluster.Endpoints[0]), timeout.Token);
        await using var ssl = await claimant.ConnectAsync(new NetworkStream(socket, ownsSocket: false), "viewstamped", timeout.Token);
        var claim = Handshake.InitiateAsync(ssl, cluster.Cluster, PeerRole.Replica, new ReplicaIndex(1), new ReplicaIndex(0), null, traceContext: false, timeout.Token);
        if (reason is null)
        {
            Assert.Equal(new ReplicaIndex(0), (await claim).RemoteReplica); // the control: a certificate naming replica 1 may claim it
            return;
        }

        var refused = await Assert.ThrowsAsync<HandshakeException>(() => claim);
        Assert.Equal(HandshakeStatus.NotCertified, refused.Status);
        await WaitAsync(() => host.Statistics.RefusedConnections > refusedBefore, "the refusal");
        await WaitAsync(
            () => cluster.Logs.Entries.Any(e => e.Message.Contains("Refused connection from 127.0.0.1:", StringComparison.Ordinal)
                && e.Message.Contains($"it claims to be replica 1 and its TLS certificate is CN={name.Split('|')[0]}, {reason}", StringComparison.Ordinal)),
            "the refusal's logged reason");
        Assert.Equal(10, Adder.Decode(await client.InvokeAsync(Adder.Encode(7))));
    }

    [Fact]
    public async Task A_client_or_replica_refuses_an_endpoint_whose_certificate_does_not_name_the_replica_configured_there()
    {
        using var ca = new TestCertificates();
        using var impostor = ca.Credentials("client");
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var timeout = new CancellationTokenSource(wait);
        var accepting = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptSocketAsync(timeout.Token);
            try
            {
                await using var ssl = await impostor.AcceptAsync(new NetworkStream(accepted, ownsSocket: false), timeout.Token);
                _ = await ssl.ReadAsync(new byte[1], timeout.Token);
            }
            catch (IOException)
            {
                // The dialer hangs up on the impostor.
            }
        });

        using var dialer = ca.Credentials(TestCertificates.ReplicaName(5, 1));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync((System.Net.IPEndPoint)listener.LocalEndpoint, timeout.Token);
        var refused = await Assert.ThrowsAsync<TlsRefusedException>(
            () => dialer.ConnectAsync(new NetworkStream(socket, ownsSocket: false), "viewstamped", timeout.Token, new TlsPeer(5, new ReplicaIndex(0))));
        Assert.Contains("its TLS certificate is CN=client, which names no replica of cluster 0x5, and replica 0 was expected at this endpoint", refused.Message, StringComparison.Ordinal);
        socket.Dispose();
        await accepting;
    }

    [Fact]
    public async Task A_replica_host_does_not_start_with_a_certificate_naming_another_replica()
    {
        using var ca = new TestCertificates();
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(
            () => InProcessCluster.StartAsync(3, null, o => o.Tls = ca.Credentials(TestCertificates.ReplicaName(o.Cluster, (o.Replica + 1) % 3))));
        Assert.Contains("which names replica 1: a certificate of replica 0 must carry the URI vsr://cluster/0x", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_certificate_names_the_replicas_of_its_URIs_and_nothing_else()
    {
        using var ca = new TestCertificates();
        using var replica = ca.Issue($"replica-3|{CertificateIdentity.ReplicaUri(0x2a, new ReplicaIndex(3))}|vsr://cluster/42/replica/4|https://example.com/x|vsr://cluster/0x2b/replica/5|vsr://cluster/0x2a/client/6");
        Assert.Equal([new ReplicaIndex(3), new ReplicaIndex(4)], CertificateIdentity.Replicas(replica, 0x2a));
        Assert.Equal("vsr://cluster/0x2a/replica/3", CertificateIdentity.ReplicaUri(0x2a, new ReplicaIndex(3)));
        Assert.True(CertificateIdentity.Names(replica, 0x2b, new ReplicaIndex(5)));
        using var client = ca.Issue("client");
        Assert.Empty(CertificateIdentity.Replicas(client, 0x2a));
        Assert.False(CertificateIdentity.TryParse("vsr://cluster/0x2a/replica/255", out _, out _));
        Assert.False(CertificateIdentity.TryParse("vsr://cluster/0x2a/replica/-1", out _, out _));
    }

    [Fact]
    public void Credentials_load_from_PEM_and_PKCS12_files_and_bad_files_are_refused()
    {
        using var ca = new TestCertificates();
        var directory = Directory.CreateTempSubdirectory("vsr-tls-").FullName;
        try
        {
            var (certificate, key, authority) = ca.WritePem(directory, "replica-0");
            using (var pem = TlsCredentials.Load(certificate, key, authority))
            {
                Assert.True(pem.Certificate.HasPrivateKey);
                Assert.Equal("CN=replica-0", pem.Certificate.Subject);
                Assert.Equal(ca.Authority.Thumbprint, Assert.Single(pem.Authorities).Thumbprint);
            }

            var pkcs12 = ca.WritePkcs12(directory, "replica-1", "secret");
            using (var bundle = TlsCredentials.Load(pkcs12, null, authority, "secret"))
            {
                Assert.True(bundle.Certificate.HasPrivateKey);
                Assert.Equal("CN=replica-1", bundle.Certificate.Subject);
            }

            Assert.ThrowsAny<CryptographicException>(() => TlsCredentials.Load(pkcs12, null, authority, "wrong"));
            Assert.ThrowsAny<CryptographicException>(() => TlsCredentials.Load(certificate, null, authority));
            Assert.Contains("holds no PEM certificate", Assert.ThrowsAny<CryptographicException>(() => TlsCredentials.Load(certificate, key, key)).Message, StringComparison.Ordinal);

            var options = new ViewstampedClientOptions { Cluster = 1, TlsCertificateFile = certificate };
            options.Replicas.Add("127.0.0.1:1");
            Assert.Contains(options.Validate(), e => e.Contains("TlsAuthorityFile", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Vsr_format_stores_the_TLS_files_and_a_hosted_replica_uses_them()
    {
        using var ca = new TestCertificates();
        var root = Directory.CreateTempSubdirectory("vsr-tls-format-").FullName;
        try
        {
            var endpoint = Ports.FreeEndpoints(1)[0];
            var (certificate, key, authority) = ca.WritePem(root, TestCertificates.ReplicaName(77, 0));
            var data = Path.Combine(root, "data");
            var (code, output, error) = FormatCommandTests.Vsr(
                "format", "--data", data, "--cluster", "77", "--replica", "0", "--replicas", endpoint, "--tls-cert", certificate, "--tls-key", key, "--tls-ca", authority);
            Assert.True(code == 0, error);
            Assert.Contains("mutual TLS", output, StringComparison.Ordinal);
            var stored = JsonSerializer.Deserialize<SecurityConfig>(File.ReadAllText(Path.Combine(data, SecurityConfig.FileName)))!;
            Assert.Equal(Path.GetFullPath(certificate), stored.TlsCertificateFile);
            Assert.Equal(Path.GetFullPath(authority), stored.TlsAuthorityFile);

            (code, _, error) = FormatCommandTests.Vsr("format", "--data", Path.Combine(root, "other"), "--cluster", "77", "--replica", "0", "--replicas", endpoint, "--tls-cert", certificate);
            Assert.Equal(1, code);
            Assert.Contains("--tls-ca", error, StringComparison.Ordinal);

            (code, _, error) = FormatCommandTests.Vsr(
                "format", "--data", Path.Combine(root, "other"), "--cluster", "77", "--replica", "1", "--replicas", endpoint + ",127.0.0.1:1,127.0.0.1:2", "--tls-cert", certificate, "--tls-key", key, "--tls-ca", authority);
            Assert.Equal(1, code);
            Assert.Contains("which names replica 0: a certificate of replica 1 must carry the URI vsr://cluster/0x4d/replica/1", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(root, "other")));

            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Services.AddViewstampedReplica<Adder>(o => o.DataDirectory = data);
            using var app = builder.Build();
            await app.StartAsync();
            Assert.False(app.Services.GetRequiredService<ViewstampedReplicaService<Adder>>().Host!.IsUnauthenticated);
            var plain = new ViewstampedClientOptions { Cluster = 77, RequestTimeout = TimeSpan.FromSeconds(1) };
            plain.Replicas.Add(endpoint);
            await using (var client = new ViewstampedClient(plain))
            {
                await Assert.ThrowsAsync<TimeoutException>(() => client.InvokeAsync(Adder.Encode(1)));
            }

            var options = new ViewstampedClientOptions { Cluster = 77, Tls = ca.Credentials("client") };
            options.Replicas.Add(endpoint);
            await using (var client = new ViewstampedClient(options))
            {
                Assert.Equal(4, Adder.Decode(await client.InvokeAsync(Adder.Encode(4))));
            }

            await app.StopAsync();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Runs TLS as a client that presents no certificate (and trusts any server certificate), then waits for the replica to close.</summary>
    private static async Task ConnectWithoutCertificateAsync(string endpoint)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(wait);
        await socket.ConnectAsync(Viewstamped.Runtime.Transport.Endpoints.Parse(endpoint), timeout.Token);
        await using var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false));
        try
        {
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions { TargetHost = "viewstamped", RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null }, timeout.Token);
            Assert.Equal(0, await ssl.ReadAsync(new byte[1], timeout.Token)); // TLS 1.3 reports the refusal on the first read
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(wait);
        while (!condition())
        {
            try
            {
                await Task.Delay(20, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{what} did not happen within {wait.TotalSeconds} s");
            }
        }
    }
}
