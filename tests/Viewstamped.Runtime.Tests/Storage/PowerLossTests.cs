using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Viewstamped.Messages;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>
/// A writer process (the storage benchmark's <c>crash-writer</c> mode) appends with group commit and
/// prints every op once it is durable; it is killed with SIGKILL mid-stream, several times over the same
/// directory, and every op it acknowledged must be found, intact, after reopening.
/// </summary>
public sealed class PowerLossTests
{
    private static readonly UInt128 Cluster = 0xC7A5;

    [Fact]
    public void Every_acknowledged_append_survives_killing_the_writer()
    {
        var writer = CrashWriterPath();
        var directory = StorageTestData.TemporaryDirectory("power-loss");
        try
        {
            var acknowledged = new HashSet<ulong>();
            var prng = new Prng(42);
            for (var round = 0; round < 3; round++)
            {
                var killAfter = 150 + (int)prng.Below(300);
                var acks = RunAndKill(writer, directory, killAfter);
                Assert.True(acks.Count >= killAfter, $"round {round}: only {acks.Count} acks");
                acknowledged.UnionWith(acks);

                using var storage = FileStorage.Open(directory, Cluster, new ReplicaIndex(0));
                Assert.False(storage.Health.LogCorrupt, storage.Health.ToString());
                var state = storage.Load();
                var present = state.Entries.Select(e => e.Op.Value).ToHashSet();
                var missing = acknowledged.Where(op => !present.Contains(op)).Order().Take(10).ToList();
                Assert.True(missing.Count == 0, $"round {round}: acknowledged ops lost: {string.Join(", ", missing)}");
                for (var i = 0; i < state.Entries.Count; i++)
                {
                    Assert.Equal((ulong)i + 1, state.Entries[i].Op.Value);
                    Assert.Equal(Expected(state.Entries[i].Op.Value), state.Entries[i]);
                }
            }
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>The crash writer's entry for <paramref name="op"/> (bench/Viewstamped.Benchmarks.Storage/Entries.cs).</summary>
    private static LogEntry Expected(ulong op)
    {
        var operation = new byte[200];
        for (var i = 0; i < operation.Length; i++)
        {
            operation[i] = (byte)((op * 31) + (ulong)i);
        }

        return new LogEntry(new OpNumber(op), new View(1), EntryKind.Operation, new ClientId(op), op, operation, []);
    }

    private static List<ulong> RunAndKill(string writer, string directory, int killAfter)
    {
        var start = new ProcessStartInfo("dotnet", [writer, "crash-writer", directory, "8", "200"])
        {
            RedirectStandardInput = true, // held open until the kill: the writer exits by itself if this process dies
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var acks = new List<ulong>();
        var errors = process.StandardError.ReadToEndAsync();
        var deadline = Stopwatch.StartNew();
        while (acks.Count < killAfter && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            var line = process.StandardOutput.ReadLine();
            if (line is null)
            {
                break;
            }

            if (line.StartsWith("ack ", StringComparison.Ordinal))
            {
                acks.Add(ulong.Parse(line.AsSpan(4), CultureInfo.InvariantCulture));
            }
        }

        process.Kill(); // SIGKILL: no flush, no dispose, no finally blocks.
        process.WaitForExit();

        // Acks printed before the kill may still sit in the pipe: they were acknowledged too.
        while (process.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith("ack ", StringComparison.Ordinal))
            {
                acks.Add(ulong.Parse(line.AsSpan(4), CultureInfo.InvariantCulture));
            }
        }

        Assert.True(acks.Count > 0, $"the crash writer acknowledged nothing: {errors.Result}");
        return acks;
    }

    /// <summary>The crash writer is the storage benchmark; it is built with the solution, or here on first use.</summary>
    private static string CrashWriterPath([CallerFilePath] string thisFile = "")
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));
        var project = Path.Combine(root, "bench", "Viewstamped.Benchmarks.Storage");
        var dll = Path.Combine(project, "bin", configuration, "net10.0", "Viewstamped.Benchmarks.Storage.dll");
        if (!File.Exists(dll))
        {
            using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", project, "-c", configuration, "-v", "quiet"])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            })!;
            var log = build.StandardOutput.ReadToEnd();
            build.WaitForExit();
            Assert.True(build.ExitCode == 0 && File.Exists(dll), $"could not build the crash writer: {log}");
        }

        return dll;
    }
}
