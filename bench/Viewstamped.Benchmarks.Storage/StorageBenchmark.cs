using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Benchmarks.Storage;

/// <summary>Benchmark options: <c>--dir DIR --seconds S --startup-entries N --sizes 128,4096,65536 --writers 1,16,64</c>.</summary>
internal sealed record BenchmarkSettings(string? Directory, double Seconds, int StartupEntries, int[] Sizes, int[] Writers)
{
    public static BenchmarkSettings Parse(string[] options)
    {
        var settings = new BenchmarkSettings(null, 3, 1_000_000, [128, 4096, 65536], [1, 16, 64]);
        for (var i = 0; i + 1 < options.Length; i += 2)
        {
            var value = options[i + 1];
            settings = options[i] switch
            {
                "--dir" => settings with { Directory = value },
                "--seconds" => settings with { Seconds = double.Parse(value, CultureInfo.InvariantCulture) },
                "--startup-entries" => settings with { StartupEntries = int.Parse(value, CultureInfo.InvariantCulture) },
                "--sizes" => settings with { Sizes = value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                "--writers" => settings with { Writers = value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() },
                _ => throw new ArgumentException($"unknown option {options[i]}"),
            };
        }

        return settings;
    }
}

/// <summary>
/// Durable appends per second with group commit for 1, 16 and 64 concurrent writers, next to the disk's
/// raw append+fdatasync rate and sequential write bandwidth measured in the same run, and the time to
/// open a log of a million entries.
/// </summary>
internal static class StorageBenchmark
{
    private static readonly UInt128 Cluster = 0xBE7C;

    public static async Task RunAsync(BenchmarkSettings settings, TextWriter output)
    {
        var root = settings.Directory ?? Path.Combine(Path.GetTempPath(), $"vsr-bench-{Environment.ProcessId}");
        Directory.CreateDirectory(root);
        try
        {
            output.WriteLine($"machine: {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}; directory {root}");
            // The disk is shared with other work, so its raw rates drift: each group-commit run is measured
            // between two raw measurements of the same length, and compared with their mean.
            var smallSize = settings.Sizes.Min();
            var smallRecord = RecordBytes(smallSize);
            output.WriteLine($"group commit, {smallSize} B entries ({smallRecord} B records), against raw append+fdatasync of {smallRecord} B measured around each run:");
            output.WriteLine("(ring syncs: batch-ring fdatasyncs when the log went idle for a moment, out of all batches)");
            output.WriteLine("writers | appends/s | entries/fsync | raw fdatasync/s | appends per raw fsync | p50 ms | p99 ms | ring syncs / batches");
            foreach (var writers in settings.Writers)
            {
                var before = RawSyncRate(root, smallRecord, settings.Seconds / 2);
                var result = await GroupCommitAsync(root, writers, smallSize, settings.Seconds).ConfigureAwait(false);
                var raw = (before + RawSyncRate(root, smallRecord, settings.Seconds / 2)) / 2;
                output.WriteLine($"{writers,7} | {result.Rate,9:F0} | {result.PerBatch,13:F1} | {raw,15:F0} | {result.Rate / raw,20:F2}x | {result.P50,6:F2} | {result.P99,6:F2} | {result.RingSyncs} / {result.Batches}");
            }

            output.WriteLine();
            var writersMax = settings.Writers.Max();
            output.WriteLine($"{writersMax} writers by entry size, against raw sequential write bandwidth (1 MiB blocks, fdatasync at the end) measured around each run:");
            output.WriteLine("(raw batch MB/s: write+fdatasync in a loop, each write as large as the log's average batch; the ceiling for a log that syncs each batch before writing the next)");
            output.WriteLine("entry B | appends/s | entries/fsync |  MB/s | raw MB/s | fraction of bandwidth | raw batch MB/s | fraction of it");
            foreach (var size in settings.Sizes)
            {
                var before = SequentialBandwidth(root, settings.Seconds / 2);
                var result = await GroupCommitAsync(root, writersMax, size, settings.Seconds).ConfigureAwait(false);
                var bandwidth = (before + SequentialBandwidth(root, settings.Seconds / 2)) / 2;
                var bytes = result.Rate * RecordBytes(size);
                var batched = BatchBandwidth(root, (int)(result.PerBatch * RecordBytes(size)), settings.Seconds / 2);
                output.WriteLine($"{size,7} | {result.Rate,9:F0} | {result.PerBatch,13:F1} | {bytes / 1e6,5:F0} | {bandwidth / 1e6,8:F0} | "
                    + $"{bytes / bandwidth,8:F2} (1/{bandwidth / bytes:F1}) | {batched / 1e6,14:F0} | {bytes / batched,14:F2}");
            }

            output.WriteLine();
            var (build, open, load, bytesOnDisk) = Startup(root, settings.StartupEntries, smallSize);
            output.WriteLine($"startup with {settings.StartupEntries} entries of {smallSize} B ({bytesOnDisk / 1e6:F0} MB of log, written in {build:F1} s): "
                + $"open (scan + verify) {open:F2} s, load (read back every entry) {load:F2} s");
        }
        finally
        {
            if (settings.Directory is null)
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>The bytes a log record of an entry with an operation of <paramref name="size"/> bytes takes.</summary>
    private static int RecordBytes(int size) => 64 + ((45 + size + 4 + 7) & ~7);

    private static double RawSyncRate(string root, int size, double seconds)
    {
        var path = Path.Combine(root, "raw-sync");
        var block = new byte[size];
        Random.Shared.NextBytes(block);
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        var clock = Stopwatch.StartNew();
        long offset = 0;
        var count = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            RandomAccess.Write(handle, block, offset);
            offset += size;
            SyncData(handle);
            count++;
        }

        var rate = count / clock.Elapsed.TotalSeconds;
        handle.Dispose();
        File.Delete(path);
        return rate;
    }

    private static double BatchBandwidth(string root, int size, double seconds)
    {
        var path = Path.Combine(root, "raw-batches");
        var block = new byte[Math.Max(size, 1)];
        Random.Shared.NextBytes(block);
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        var clock = Stopwatch.StartNew();
        long offset = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            RandomAccess.Write(handle, block, offset);
            offset += block.Length;
            SyncData(handle);
        }

        var rate = offset / clock.Elapsed.TotalSeconds;
        handle.Dispose();
        File.Delete(path);
        return rate;
    }

    private static double SequentialBandwidth(string root, double seconds)
    {
        var path = Path.Combine(root, "raw-sequential");
        var block = new byte[1 << 20];
        Random.Shared.NextBytes(block);
        using var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite);
        var clock = Stopwatch.StartNew();
        long offset = 0;
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            RandomAccess.Write(handle, block, offset);
            offset += block.Length;
        }

        SyncData(handle);
        var rate = offset / clock.Elapsed.TotalSeconds;
        handle.Dispose();
        File.Delete(path);
        return rate;
    }

    private static async Task<(double Rate, double PerBatch, double P50, double P99, long RingSyncs, long Batches)> GroupCommitAsync(string root, int writers, int size, double seconds)
    {
        var directory = Path.Combine(root, $"group-{writers}-{size}");
        FileStorage.Format(directory, new StorageIdentity(Cluster, new ReplicaIndex(0), ["127.0.0.1:7000"]));
        try
        {
            using var storage = FileStorage.Open(directory, Cluster, new ReplicaIndex(0));
            var entries = Enumerable.Range(1, 64).Select(i => Entries.Make((ulong)i, size)).ToArray();
            var gate = new object();
            var next = 0UL;
            var clock = Stopwatch.StartNew();
            var latencies = new List<double>[writers];

            async Task Writer(int index)
            {
                var mine = latencies[index] = [];
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    Task durable;
                    var started = clock.Elapsed.TotalMilliseconds;
                    lock (gate)
                    {
                        next++;
                        var template = entries[(int)(next % 64)];
                        durable = storage.AppendAsync(template with { Op = new OpNumber(next) }).AsTask();
                    }

                    await durable.ConfigureAwait(false);
                    mine.Add(clock.Elapsed.TotalMilliseconds - started);
                }
            }

            await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(() => Writer(i)))).ConfigureAwait(false);
            var elapsed = clock.Elapsed.TotalSeconds;
            var statistics = storage.Statistics;
            var all = latencies.SelectMany(l => l).Order().ToArray();
            return (statistics.Records / elapsed, statistics.RecordsPerBatch, all[all.Length / 2], all[(int)(all.Length * 0.99)], statistics.SummarySyncs, statistics.Batches);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static (double Build, double Open, double Load, long Bytes) Startup(string root, int count, int size)
    {
        var directory = Path.Combine(root, "startup");
        FileStorage.Format(directory, new StorageIdentity(Cluster, new ReplicaIndex(0), ["127.0.0.1:7000"]));
        try
        {
            var clock = Stopwatch.StartNew();
            using (var storage = FileStorage.Open(directory, Cluster, new ReplicaIndex(0)))
            {
                const int batch = 4096;
                for (var op = 1; op <= count; op += batch)
                {
                    var ready = new Ready();
                    for (var i = op; i < Math.Min(op + batch, count + 1); i++)
                    {
                        var entry = Entries.Make((ulong)i, size);
                        ready.LogChanges.Add(new LogChange(LogChangeKind.Append, entry.Op, entry));
                    }

                    storage.Persist(ready);
                }
            }

            var build = clock.Elapsed.TotalSeconds;
            var bytes = Directory.GetFiles(directory, "log-*.wal").Sum(f => new FileInfo(f).Length);
            GC.Collect();
            clock.Restart();
            using var reopened = FileStorage.Open(directory, Cluster, new ReplicaIndex(0));
            var open = clock.Elapsed.TotalSeconds;
            clock.Restart();
            var state = reopened.Load();
            var load = clock.Elapsed.TotalSeconds;
            if (state.Entries.Count != count || !reopened.Health.IsHealthy)
            {
                throw new InvalidOperationException($"startup log came back with {state.Entries.Count} entries: {reopened.Health}");
            }

            return (build, open, load, bytes);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void SyncData(SafeFileHandle handle)
    {
        if (OperatingSystem.IsLinux())
        {
            if (NativeMethods.fdatasync((int)handle.DangerousGetHandle()) != 0)
            {
                throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        else
        {
            RandomAccess.FlushToDisk(handle);
        }
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054, CA5392, IDE1006 // No unsafe code here; libc is resolved by the runtime; the name is libc's.
        [DllImport("libc", SetLastError = true)]
        public static extern int fdatasync(int fd);
#pragma warning restore SYSLIB1054, CA5392, IDE1006
    }
}
