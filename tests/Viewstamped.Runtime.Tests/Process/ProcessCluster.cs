using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Processes;

/// <summary>A cluster of <c>vsr replica</c> processes on loopback, with file storage and a cluster key, removed at the end.</summary>
public sealed class ProcessCluster : IAsyncDisposable
{
    private readonly string root;

    private ProcessCluster(int count)
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
            Replicas.Add(new ReplicaProcess(i, ["replica", "--data", data, "--key-file", KeyFile, "--stop-on-eof", "--status-interval-ms", "50", "--log-level", "Information"]));
        }
    }

    public UInt128 Cluster { get; }

    public List<string> Endpoints { get; }

    public string KeyFile { get; }

    public ClusterKey Key { get; }

    public List<ReplicaProcess> Replicas { get; } = [];

    public static async Task<ProcessCluster> StartAsync(int count)
    {
        var cluster = new ProcessCluster(count);
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

/// <summary>
/// Steady load of Adder increments (+1 each) from several concurrent callers, bounded in count and
/// time, recording every acknowledged total and every unknown outcome. Because each op adds 1, the
/// total a reply carries is the op's position: acknowledged totals must be distinct, and the final
/// total must lie between the acknowledged count and the acknowledged plus unknown count.
/// </summary>
public sealed class AdderLoad : IDisposable
{
    private readonly ConcurrentBag<(int Total, long Started, long Finished)> acknowledged = [];
    private readonly List<Task> workers = [];
    private readonly CancellationTokenSource stop = new();
    private int unknown;
    private int failed;

    public AdderLoad(ViewstampedClient client, int workers, int perWorkerMax, TimeSpan durationMax)
    {
        stop.CancelAfter(durationMax);
        for (var w = 0; w < workers; w++)
        {
            this.workers.Add(Task.Run(async () =>
            {
                for (var i = 0; i < perWorkerMax && !stop.IsCancellationRequested; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        var total = Adder.Decode(await client.InvokeAsync(Adder.Encode(1)));
                        acknowledged.Add((total, started, Stopwatch.GetTimestamp()));
                    }
                    catch (OutcomeUnknownException)
                    {
                        Interlocked.Increment(ref unknown);
                    }
                    catch (TimeoutException)
                    {
                        Interlocked.Increment(ref failed); // never sent: did not execute
                    }
                }
            }));
        }
    }

    public int Acknowledged => acknowledged.Count;

    public long HighestAcknowledged => acknowledged.Select(a => (long)a.Total).DefaultIfEmpty(0).Max();

    public int Unknown => Volatile.Read(ref unknown);

    /// <summary>Seconds from <paramref name="since"/> to the first acknowledgement of an invocation started after it.</summary>
    public double? FirstAcknowledgedAfter(long since)
    {
        var after = acknowledged.Where(a => a.Started > since).Select(a => a.Finished).DefaultIfEmpty(0).Min();
        return after == 0 ? null : Stopwatch.GetElapsedTime(since, after).TotalSeconds;
    }

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Checks the recorded outcomes against the replicas' final total.</summary>
    public void Check(long finalTotal)
    {
        var totals = acknowledged.Select(a => a.Total).ToList();
        Assert.Equal(totals.Count, totals.Distinct().Count());
        Assert.True(totals.Count == 0 || totals.Max() <= finalTotal, $"an acknowledged total {totals.Max()} exceeds the final {finalTotal}");
        Assert.True(finalTotal >= totals.Count, $"final total {finalTotal} < {totals.Count} acknowledged writes: an acknowledged write was lost");
        Assert.True(finalTotal <= totals.Count + Unknown, $"final total {finalTotal} > {totals.Count} acknowledged + {Unknown} unknown: a write applied twice");
        Assert.Equal(0, Volatile.Read(ref failed));
    }

    public void Dispose() => stop.Dispose();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Acknowledged} acknowledged, {Unknown} unknown");
}
