using System.Text.Json;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Runtime.Tests.Processes;
using Viewstamped.Runtime.Tests.Storage;

namespace Viewstamped.Runtime.Tests.Security;

/// <summary><c>vsr replica</c> with mutual TLS from its command line or its data directory, run as a process.</summary>
[Collection("processes")]
public sealed class TlsCommandLineTests : IDisposable
{
    private readonly TestCertificates ca = new();
    private readonly string root = Directory.CreateTempSubdirectory("vsr-tls-cli-").FullName;

    [Fact]
    public async Task Vsr_replica_serves_mutual_TLS_with_the_files_given_on_its_command_line_and_vsr_bench_reaches_it()
    {
        var endpoint = Ports.FreeEndpoints(1)[0];
        var (certificate, key, authority) = ca.WritePem(root, TestCertificates.ReplicaName(0x77, 0));
        await using var replica = new ReplicaProcess(
            0, ["replica", "--cluster", "0x77", "--replica", "0", "--replicas", endpoint, "--service", "kv", "--tls-cert", certificate, "--tls-key", key, "--tls-ca", authority, "--stop-on-eof"]);
        replica.Start();
        await replica.WaitReadyAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 200 && !replica.Logged("mutual TLS as CN=replica-0"); i++)
        {
            await Task.Delay(50); // the log line on standard error may arrive after "ready" on standard output
        }

        Assert.True(replica.Logged("mutual TLS as CN=replica-0"), replica.Log());

        var client = ca.WritePem(root, "client");
        var (code, output, error) = FormatCommandTests.Vsr(
            "bench", "--target", endpoint, "--cluster", "0x77", "--tls-cert", client.Certificate, "--tls-key", client.Key, "--tls-ca", authority, "--clients", "2", "--duration", "0.5", "--json");
        Assert.True(code == 0, error + output);
        using var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]);
        Assert.True(json.RootElement.GetProperty("ops").GetInt64() > 0, output);
        await replica.StopAsync();
    }

    [Theory]
    [InlineData("missing-certificate", "--tls-cert")]
    [InlineData("missing-authority", "--tls-ca")]
    [InlineData("key-of-another-certificate", "does not match")]
    [InlineData("authority-file-without-certificates", "holds no PEM certificate")]
    [InlineData("certificate-of-another-CA", "does not chain to the cluster's certificate authority")]
    [InlineData("certificate-without-authority", "needs --tls-cert and --tls-ca")]
    [InlineData("certificate-of-another-replica", "cannot start: This replica's TLS certificate is CN=replica-1, which names replica 1: a certificate of replica 0 must carry the URI vsr://cluster/0x77/replica/0")]
    public void Vsr_replica_refuses_TLS_files_it_cannot_use_with_a_sentence_and_no_stack_trace(string problem, string message)
    {
        var (certificate, key, authority) = ca.WritePem(root, TestCertificates.ReplicaName(0x77, 0));
        string[] tls = problem switch
        {
            "missing-certificate" => ["--tls-cert", Path.Combine(root, "none.crt"), "--tls-key", key, "--tls-ca", authority],
            "missing-authority" => ["--tls-cert", certificate, "--tls-key", key, "--tls-ca", Path.Combine(root, "none.crt")],
            "key-of-another-certificate" => ["--tls-cert", certificate, "--tls-key", ca.WritePem(root, "other").Key, "--tls-ca", authority],
            "authority-file-without-certificates" => ["--tls-cert", certificate, "--tls-key", key, "--tls-ca", key],
            "certificate-of-another-CA" => OtherCa(authority),
            "certificate-of-another-replica" => ["--tls-cert", ca.WritePem(root, TestCertificates.ReplicaName(0x77, 1)).Certificate, "--tls-key", Path.Combine(root, "replica-1.key"), "--tls-ca", authority],
            _ => ["--tls-cert", certificate, "--tls-key", key],
        };

        var (code, output, error) = FormatCommandTests.Vsr(["replica", "--cluster", "0x77", "--replica", "0", "--replicas", Ports.FreeEndpoints(1)[0], .. tls]);

        Assert.Equal(1, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("unexpected error", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("ready", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Vsr_replica_names_the_data_directory_s_security_json_when_the_files_it_names_are_gone_or_it_is_corrupt()
    {
        var endpoint = Ports.FreeEndpoints(1)[0];
        var (certificate, key, authority) = ca.WritePem(root, TestCertificates.ReplicaName(0x77, 0));
        var data = Path.Combine(root, "data");
        var (code, _, error) = FormatCommandTests.Vsr(
            "format", "--data", data, "--cluster", "0x77", "--replica", "0", "--replicas", endpoint, "--tls-cert", certificate, "--tls-key", key, "--tls-ca", authority);
        Assert.True(code == 0, error);

        File.Delete(key);
        (code, _, error) = FormatCommandTests.Vsr("replica", "--data", data);
        Assert.Equal(1, code);
        Assert.Contains($"--tls-key {key}: no such file (named in {Path.Combine(data, SecurityConfig.FileName)})", error, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(data, SecurityConfig.FileName), "{ not json");
        (code, _, error) = FormatCommandTests.Vsr("replica", "--data", data);
        Assert.Equal(1, code);
        Assert.Contains("is not a valid security config", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        ca.Dispose();
        Directory.Delete(root, recursive: true);
    }

    private string[] OtherCa(string authority)
    {
        using var other = new TestCertificates("Another CA");
        var otherDirectory = Directory.CreateDirectory(Path.Combine(root, "other-ca")).FullName;
        var (certificate, key, _) = other.WritePem(otherDirectory, TestCertificates.ReplicaName(0x77, 0));
        return ["--tls-cert", certificate, "--tls-key", key, "--tls-ca", authority];
    }
}
