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
        await using var cluster = await InProcessCluster.StartAsync(3, null, o => o.Tls = ca.Credentials($"replica-{o.Replica}"));
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
        await using var cluster = await InProcessCluster.StartAsync(1, null, o => o.Tls = ca.Credentials("replica-0"));
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
            o.Tls = o.Replica == 2 ? otherCa.Credentials("replica-2") : ca.Credentials($"replica-{o.Replica}");
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
            var (certificate, key, authority) = ca.WritePem(root, "replica-0");
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
