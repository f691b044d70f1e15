using System.Globalization;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Benchmarks.Storage;

/// <summary>
/// The process the power-loss test kills: opens (formatting if needed) a data directory, appends with
/// several concurrent writers and prints <c>ack OP</c> for every op once it is durable. An op is
/// acknowledged only after its <see cref="FileStorage.AppendAsync"/> completed, exactly what a replica
/// does before sending a PrepareOk.
/// </summary>
internal static class CrashWriter
{
    public static readonly UInt128 Cluster = 0xC7A5;

    public static async Task<int> RunAsync(string directory, int writers, int entrySize)
    {
        if (!File.Exists(Path.Combine(directory, "superblock")))
        {
            FileStorage.Format(directory, new StorageIdentity(Cluster, new ReplicaIndex(0), ["127.0.0.1:7000"]));
        }

        using var storage = FileStorage.Open(directory, Cluster, new ReplicaIndex(0), new FileStorageOptions { SegmentSizeBytes = 256 * 1024 });
        var head = storage.Load().LogHead.Value;
        var gate = new object();
        var output = Console.Out;
        Console.WriteLine($"ready {head}");

        async Task Writer()
        {
            while (true)
            {
                Task durable;
                ulong op;
                lock (gate)
                {
                    op = ++head;
                    durable = storage.AppendAsync(Entries.Make(op, entrySize)).AsTask();
                }

                await durable.ConfigureAwait(false);
                lock (output)
                {
                    output.WriteLine("ack " + op.ToString(CultureInfo.InvariantCulture));
                    output.Flush();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(Writer))).ConfigureAwait(false);
        return 0;
    }
}
