using System.Diagnostics;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Runtime.Tests.Security;

namespace Viewstamped.Runtime.Tests.Processes;

/// <summary>
/// A cluster of <c>vsr replica</c> processes on loopback, with file storage, removed at the end. The
/// replicas authenticate with a cluster key, or, given a test CA, with mutual TLS only: each replica
/// gets a certificate naming its index, passed with <c>--tls-cert/--tls-key/--tls-ca</c>.
/// </summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly string root;

    private ProcessCluster(int count, string service, TestCertificates? authority)
    {
        root = Path.Combine(Path.GetTempPath(), $"vsr-process-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        Cluster = (UInt128)Random.Shared.NextInt64(1, long.MaxValue);
        Endpoints = Ports.FreeEndpoints(count);
        Authority = authority;
        KeyFile = Path.Combine(root, "cluster.key");
        Key = ClusterKey.Generate();
        Key.Save(KeyFile);
        for (var i = 0; i < count; i++)
        {
            var data = Path.Combine(root, $"replica-{i}");
            FileStorage.Format(data, new StorageIdentity(Cluster, new ReplicaIndex((byte)i), Endpoints));
            List<string> security = ["--key-file", KeyFile];
            if (authority is not null)
            {
                var (certificate, key, ca) = authority.WritePem(root, TestCertificates.ReplicaName(Cluster, i));
                security = ["--tls-cert", certificate, "--tls-key", key, "--tls-ca", ca];
            }

            Replicas.Add(new ReplicaProcess(i, ["replica", "--data", data, .. security, "--service", service, "--stop-on-eof", "--status-interval-ms", "50", "--log-level", "Information"]));
        }
    }

    /// <summary>The CA of the replicas' and clients' certificates, when the cluster runs mutual TLS.</summary>
    public TestCertificates? Authority { get; }

    /// <summary>A directory removed with the cluster, for more certificates.</summary>
    public string Root => root;

    public UInt128 Cluster { get; }

    public List<string> Endpoints { get; }

    public string KeyFile { get; }

    public ClusterKey Key { get; }

    public List<ReplicaProcess> Replicas { get; } = [];

    /// <summary>Formats and starts <paramref name="count"/> replicas of <paramref name="service"/> (<c>adder</c> or <c>kv</c>) and waits until each listens.</summary>
    public static async Task<ProcessCluster> StartAsync(int count, string service = "kv", TestCertificates? authority = null)
    {
        var cluster = new ProcessCluster(count, service, authority);
        cluster.Replicas.ForEach(r => r.Start());
        foreach (var replica in cluster.Replicas)
        {
            await replica.WaitReadyAsync(TimeSpan.FromSeconds(30));
        }

        return cluster;
    }

    /// <summary>A client with the cluster key, or, when the cluster runs mutual TLS, <paramref name="tls"/> or a client certificate of its CA.</summary>
    public ViewstampedClient CreateClient(TlsCredentials? tls = null, TimeSpan? requestTimeout = null)
    {
        var options = new ViewstampedClientOptions { Cluster = Cluster, Sessions = 4, ResendTicks = 20, RequestTimeout = requestTimeout ?? TimeSpan.FromSeconds(15) };
        if (Authority is null)
        {
            options.Key = Key;
        }
        else
        {
            options.Tls = tls ?? Authority.Credentials("client");
        }

        options.Replicas.AddRange(Endpoints);
        return new ViewstampedClient(options);
    }

    /// <summary>Waits (polling status lines, bounded) until <paramref name="condition"/> holds.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds} s{Environment.NewLine}{Describe()}");
            }

            await Task.Delay(25);
        }
    }

    public async Task<ReplicaProcess> WaitForPrimaryAsync(TimeSpan timeout, int? except = null)
    {
        ReplicaProcess? primary = null;
        await WaitUntilAsync(
            () => (primary = Replicas.Where(r => r.IsRunning && r.Index != except && r.IsNormalPrimary).MaxBy(r => r.Get("view"))) is not null,
            timeout,
            "a normal primary");
        return primary!;
    }

    public string Describe() => string.Join(Environment.NewLine, Replicas.Select(r =>
        $"replica {r.Index} running={r.IsRunning}: {(r.Status is { } s ? string.Join(' ', s.Select(kv => $"{kv.Key}={kv.Value}")) : "no status")}{Environment.NewLine}{r.Log()}"));

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in Replicas)
        {
            await replica.DisposeAsync();
        }

        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
