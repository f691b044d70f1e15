using System.Globalization;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Benchmarks.Storage;

/// <summary>
/// The process the power-loss test kills: opens (formatting if needed) a data directory, appends with
/// several concurrent writers and prints <c>ack OP</c> for every op once it is durable. An op is
/// acknowledged only after its <see cref="FileStorage.AppendAsync"/> completed, exactly what a replica
/// does before sending a PrepareOk. It never outlives its parent by long: it exits when its standard
/// input reaches end of file (the parent closed it or died) and after <see cref="Lifetime"/> at most,
/// so a test host that dies mid-test leaves no writer filling the disk.
/// </summary>
internal static class CrashWriter
{
    public static readonly UInt128 Cluster = 0xC7A5;

    /// <summary>The longest a writer runs; the power-loss test kills it within seconds.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

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
        _ = Task.Run(ExitWhenOrphaned);

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

    /// <summary>Ends the process, as abruptly as a kill, at end of input or when its lifetime is up.</summary>
    private static async Task ExitWhenOrphaned()
    {
        var endOfInput = Task.Run(() => Console.In.ReadToEnd());
        await Task.WhenAny(endOfInput, Task.Delay(Lifetime)).ConfigureAwait(false);
        Environment.Exit(3);
    }
}
