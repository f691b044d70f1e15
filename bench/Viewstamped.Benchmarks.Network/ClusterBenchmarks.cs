using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;
using Viewstamped.Samples;

namespace Viewstamped.Benchmarks.Network;

/// <summary>End-to-end throughput of in-process replicas, and failover time of replica processes.</summary>
internal static class ClusterBenchmarks
{
    /// <summary>Adder requests per second through <paramref name="replicas"/> in-process replicas with memory storage.</summary>
    public static async Task<double> RequestsPerSecondAsync(int replicas, int sessions, TimeSpan duration)
    {
        var endpoints = FreeEndpoints(replicas);
        const ulong cluster = 5;
        var key = ClusterKey.Generate();
        var hosts = new List<ReplicaHost>();
        try
        {
            for (var i = 0; i < replicas; i++)
            {
                var options = new ReplicaHostOptions { Cluster = cluster, Replica = i, Key = key };
                options.Replicas.AddRange(endpoints);
                var host = new ReplicaHost(options, new Adder(), new MemoryStorage());
                await host.StartAsync();
                hosts.Add(host);
            }

            var clientOptions = new ViewstampedClientOptions { Cluster = cluster, Key = key, Sessions = sessions };
            clientOptions.Replicas.AddRange(endpoints);
            await using var client = new ViewstampedClient(clientOptions);
            await client.InvokeAsync(Adder.Encode(0));
            var done = 0L;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(Enumerable.Range(0, sessions).Select(async _ =>
            {
                while (clock.Elapsed < duration)
                {
                    await client.InvokeAsync(Adder.Encode(1));
                    Interlocked.Increment(ref done);
                }
            }));
            return done / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.StopAsync();
            }
        }
    }

    /// <summary>
    /// One trial: three <c>vsr replica</c> processes with file storage and default timeouts, one client
    /// writing continuously; SIGKILL the primary (replica 0 in view 0) and time until the first write
    /// invoked after the kill is acknowledged (committed in the new view).
    /// </summary>
    public static async Task<double> FailoverSecondsAsync(string vsr, TimeSpan timeout)
    {
        var root = Path.Combine(Path.GetTempPath(), "vsr-bench-" + Guid.NewGuid().ToString("N"));
        var endpoints = FreeEndpoints(3);
        var cluster = (UInt128)Random.Shared.NextInt64(1, long.MaxValue);
        var key = ClusterKey.Generate();
        var keyFile = Path.Combine(root, "cluster.key");
        var processes = new List<Process>();
        try
        {
            Directory.CreateDirectory(root);
            key.Save(keyFile);
            for (var i = 0; i < 3; i++)
            {
                var data = Path.Combine(root, $"replica-{i}");
                FileStorage.Format(data, new StorageIdentity(cluster, new ReplicaIndex((byte)i), endpoints));
                processes.Add(await StartReplicaAsync(vsr, data, keyFile, timeout));
            }

            var options = new ViewstampedClientOptions { Cluster = cluster, Key = key, Sessions = 1 };
            options.Replicas.AddRange(endpoints);
            await using var client = new ViewstampedClient(options);
            for (var i = 0; i < 50; i++)
            {
                await client.InvokeAsync(Adder.Encode(1));
            }

            var killedAt = 0L;
            var firstAfterKill = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            using var stop = new CancellationTokenSource(timeout);
            var writer = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested && !firstAfterKill.Task.IsCompleted)
                {
                    var started = Stopwatch.GetTimestamp();
                    try
                    {
                        await client.InvokeAsync(Adder.Encode(1));
                    }
                    catch (OutcomeUnknownException)
                    {
                        continue;
                    }

                    var kill = Volatile.Read(ref killedAt);
                    if (kill != 0 && started > kill)
                    {
                        firstAfterKill.TrySetResult(Stopwatch.GetTimestamp());
                    }
                }
            });
            await Task.Delay(300);
            processes[0].Kill(entireProcessTree: true);
            await processes[0].WaitForExitAsync();
            Volatile.Write(ref killedAt, Stopwatch.GetTimestamp());
            var acknowledged = await firstAfterKill.Task.WaitAsync(timeout);
            await writer;
            return Stopwatch.GetElapsedTime(killedAt, acknowledged).TotalSeconds;
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process.Dispose();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Finds the built CLI above the benchmark's folder (the project references it so it is built).</summary>
    public static string FindCli()
    {
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        for (var directory = baseDirectory; directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Viewstamped.slnx")))
            {
                var candidate = new[] { baseDirectory.Parent!.Name, "Release", "Debug" }
                    .Select(c => Path.Combine(directory.FullName, "src", "Viewstamped.Cli", "bin", c, baseDirectory.Name, "vsr.dll"))
                    .FirstOrDefault(File.Exists);
                if (candidate is not null)
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("vsr.dll not found; build src/Viewstamped.Cli");
    }

    private static async Task<Process> StartReplicaAsync(string vsr, string data, string keyFile, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { vsr, "replica", "--data", data, "--key-file", keyFile, "--stop-on-eof", "--log-level", "Warning" })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("ready ", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await ready.Task.WaitAsync(timeout);
        return process;
    }

    private static List<string> FreeEndpoints(int count)
    {
        var sockets = Enumerable.Range(0, count).Select(_ =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return socket;
        }).ToList();
        var endpoints = sockets.Select(s => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{((IPEndPoint)s.LocalEndPoint!).Port}")).ToList();
        sockets.ForEach(s => s.Dispose());
        return endpoints;
    }
}
