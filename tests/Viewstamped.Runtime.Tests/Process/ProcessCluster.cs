using System.Diagnostics;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Tests.Host;

namespace Viewstamped.Runtime.Tests.Processes;

/// <summary>A cluster of <c>vsr replica</c> processes on loopback, with file storage and a cluster key, removed at the end.</summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly string root;

    private ProcessCluster(int count, string service)
    {
        root = Path.Combine(Path.GetTempPath(), $"vsr-process-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        Cluster = (UInt128)Random.Shared.NextInt64(1, long.MaxValue);
        Endpoints = Ports.FreeEndpoints(count);
        KeyFile = Path.Combine(root, "cluster.key");
        Key = ClusterKey.Generate();
        Key.Save(KeyFile);
        for (var i = 0; i < count; i++)
        {
            var data = Path.Combine(root, $"replica-{i}");
            FileStorage.Format(data, new StorageIdentity(Cluster, new ReplicaIndex((byte)i), Endpoints));
            Replicas.Add(new ReplicaProcess(i, ["replica", "--data", data, "--key-file", KeyFile, "--service", service, "--stop-on-eof", "--status-interval-ms", "50", "--log-level", "Information"]));
        }
    }

    public UInt128 Cluster { get; }

    public List<string> Endpoints { get; }

    public string KeyFile { get; }

    public ClusterKey Key { get; }

    public List<ReplicaProcess> Replicas { get; } = [];

    /// <summary>Formats and starts <paramref name="count"/> replicas of <paramref name="service"/> (<c>adder</c> or <c>kv</c>) and waits until each listens.</summary>
    public static async Task<ProcessCluster> StartAsync(int count, string service = "kv")
    {
        var cluster = new ProcessCluster(count, service);
        cluster.Replicas.ForEach(r => r.Start());
        foreach (var replica in cluster.Replicas)
        {
            await replica.WaitReadyAsync(TimeSpan.FromSeconds(30));
        }

        return cluster;
    }

    public ViewstampedClient CreateClient()
    {
        var options = new ViewstampedClientOptions { Cluster = Cluster, Key = Key, Sessions = 4, ResendTicks = 20, RequestTimeout = TimeSpan.FromSeconds(15) };
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
