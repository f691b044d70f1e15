using System.Security.Cryptography;
using Viewstamped.Cli.Runtime;
using Viewstamped.KeyValue;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Cli.Bench;

/// <summary>
/// A key-value cluster inside this process: one <see cref="ReplicaHost"/> per replica on 127.0.0.1,
/// each with its own <see cref="FileStorage"/> in a temporary directory (so every replica fsyncs
/// before it acknowledges, as in production) and a fresh cluster key. Disposal stops the replicas
/// and removes the directory.
/// </summary>
internal sealed class EmbeddedCluster : IAsyncDisposable
{
    private readonly List<ReplicaHost> hosts = [];
    private readonly List<FileStorage> storages = [];

    private EmbeddedCluster(string root, UInt128 cluster, IReadOnlyList<string> replicas, ClusterKey key)
    {
        Root = root;
        Cluster = cluster;
        Replicas = replicas;
        Key = key;
    }

    public string Root { get; }

    public UInt128 Cluster { get; }

    public IReadOnlyList<string> Replicas { get; }

    public ClusterKey Key { get; }

    public IReadOnlyList<ReplicaHost> Hosts => hosts;

    /// <summary>Counters summed over every replica's storage.</summary>
    public (long Syncs, long Batches, long Records) StorageTotals()
    {
        long syncs = 0, batches = 0, records = 0;
        foreach (var storage in storages)
        {
            var statistics = storage.Statistics;
            syncs += statistics.Syncs;
            batches += statistics.Batches;
            records += statistics.Records;
        }

        return (syncs, batches, records);
    }

    public static async Task<EmbeddedCluster> StartAsync(int replicaCount, CancellationToken cancellationToken)
    {
        var root = Path.Combine(Path.GetTempPath(), "vsr-bench-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        var cluster = (UInt128)BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1;
        var embedded = new EmbeddedCluster(root, cluster, ClusterRunner.FreeEndpoints(replicaCount), ClusterKey.Generate());
        try
        {
            for (var i = 0; i < replicaCount; i++)
            {
                var directory = Path.Combine(root, $"replica-{i}");
                var index = new ReplicaIndex((byte)i);
                FileStorage.Format(directory, new StorageIdentity(cluster, index, embedded.Replicas));
                var storage = FileStorage.Open(directory, cluster, index);
                embedded.storages.Add(storage);
                var options = new ReplicaHostOptions { Cluster = cluster, Replica = i, Key = embedded.Key, CheckpointInterval = 100_000 };
                options.Replicas.AddRange(embedded.Replicas);
                var service = new KeyValueService(static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                var host = new ReplicaHost(options, service, storage);
                embedded.hosts.Add(host);
                await host.StartAsync(cancellationToken).ConfigureAwait(false);
            }

            return embedded;
        }
        catch
        {
            await embedded.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in hosts)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await host.StopAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        storages.ForEach(s => s.Dispose());
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
