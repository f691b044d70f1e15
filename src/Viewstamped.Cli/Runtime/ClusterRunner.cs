using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Viewstamped.Cli.Commands;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Cli.Runtime;

/// <summary>What <c>vsr cluster</c> was asked to run.</summary>
/// <param name="Replicas">How many replicas.</param>
/// <param name="Data">Where the key and the replicas' data directories live; null for a temporary directory removed at the end.</param>
/// <param name="TickMilliseconds">The tick length the replicas use.</param>
/// <param name="Unauthenticated">Run without a cluster key.</param>
/// <param name="Service">The replicated service: <c>kv</c> (the key-value store, with a RESP endpoint per replica) or <c>adder</c>.</param>
/// <param name="RequirePass">With <c>kv</c>: the password RESP clients must give with AUTH; null for none.</param>
/// <param name="CheckpointBytesInterval">The replicas' <c>--checkpoint-bytes</c>; null for their default.</param>
public sealed record ClusterSettings(
    int Replicas, string? Data, int TickMilliseconds, bool Unauthenticated, string Service = "kv", string? RequirePass = null, long? CheckpointBytesInterval = null)
{
    /// <summary>True when the replicas serve the key-value store over RESP.</summary>
    public bool IsKeyValue => Service == "kv";
}

/// <summary>Runs a local cluster: one <c>vsr replica</c> child process per replica, on 127.0.0.1.</summary>
public static class ClusterRunner
{
    private static readonly TimeSpan readyTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Formats the data directories (or reuses those already formatted in <see cref="ClusterSettings.Data"/>),
    /// makes a cluster key, starts the replicas, prints the endpoints and runs until Ctrl-C, SIGTERM, or the
    /// end of standard input when it is not a terminal; then stops every replica cleanly.
    /// </summary>
    public static async Task<int> RunAsync(ClusterSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (settings.RequirePass is not null && !settings.IsKeyValue)
        {
            await error.WriteLineAsync("vsr cluster: --requirepass needs --service kv").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }

        if (settings.TickMilliseconds is < 1 or > 10_000)
        {
            await error.WriteLineAsync("vsr cluster: --tick-ms must be 1 to 10000").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }

        if (settings.CheckpointBytesInterval is < 0)
        {
            await error.WriteLineAsync("vsr cluster: --checkpoint-bytes must be 0 (by op count only) or more").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }

        var temporary = settings.Data is null;
        var root = settings.Data ?? Path.Combine(Path.GetTempPath(), "vsr-cluster-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        var children = new List<ReplicaProcess>();
        try
        {
            Directory.CreateDirectory(root);
            var keyFile = Path.Combine(root, "cluster.key");
            if (!settings.Unauthenticated && !File.Exists(keyFile))
            {
                ClusterKey.Generate().Save(keyFile);
            }

            if (!TryPrepare(root, settings.Replicas, error, out var identity))
            {
                return ExitCodes.BadArguments;
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"cluster {StorageIdentity.FormatCluster(identity.Cluster)} with {identity.ReplicaCount} replicas in {root}{(settings.Unauthenticated ? " (unauthenticated)" : $", key {keyFile}")}")).ConfigureAwait(false);
            for (var i = 0; i < identity.ReplicaCount; i++)
            {
                var arguments = new List<string>
                {
                    "replica", "--data", ReplicaDirectory(root, i), "--stop-on-eof",
                    "--tick-ms", settings.TickMilliseconds.ToString(CultureInfo.InvariantCulture),
                };
                if (!settings.Unauthenticated)
                {
                    arguments.AddRange(["--key-file", keyFile]);
                }

                if (settings.CheckpointBytesInterval is { } checkpointBytes)
                {
                    arguments.AddRange(["--checkpoint-bytes", checkpointBytes.ToString(CultureInfo.InvariantCulture)]);
                }

                if (settings.IsKeyValue)
                {
                    // Port 0: each replica's RESP server takes a free port and reports it on its ready line.
                    arguments.AddRange(["--service", "kv", "--resp", "127.0.0.1:0"]);
                    if (settings.RequirePass is { } password)
                    {
                        arguments.AddRange(["--requirepass", password]);
                    }
                }

                var child = new ReplicaProcess(i, arguments, (index, line) =>
                {
                    lock (error)
                    {
                        error.WriteLine($"r{index}| {line}");
                    }
                });
                children.Add(child);
                child.Start();
            }

            using var readyWait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            readyWait.CancelAfter(readyTimeout);
            foreach (var child in children)
            {
                try
                {
                    await child.Ready.WaitAsync(readyWait.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OperationCanceledException or InvalidOperationException)
                {
                    await error.WriteLineAsync($"vsr cluster: replica {child.Index} did not start").ConfigureAwait(false);
                    return cancellationToken.IsCancellationRequested ? ExitCodes.Ok : ExitCodes.Liveness;
                }

                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"replica {child.Index} {identity.Configuration[child.Index]} pid {child.Pid} data {ReplicaDirectory(root, child.Index)}")).ConfigureAwait(false);
            }

            await output.WriteLineAsync($"replicas={string.Join(',', identity.Configuration)}").ConfigureAwait(false);
            if (settings.IsKeyValue)
            {
                var auth = settings.RequirePass is null ? string.Empty : " -a PASSWORD";
                foreach (var child in children)
                {
                    await output.WriteLineAsync($"redis-cli -p {child.RespPort}{auth}      # replica {child.Index}").ConfigureAwait(false);
                }
            }

            await output.WriteLineAsync("ready; Ctrl-C (or end of input) stops the cluster").ConfigureAwait(false);
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);

            using var stop = new StopSignal(Console.IsInputRedirected, cancellationToken);
            await stop.WaitAsync().ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StorageException)
        {
            await error.WriteLineAsync($"vsr cluster: {e.Message}").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }
        finally
        {
            await StopAllAsync(children, output).ConfigureAwait(false);
            if (temporary)
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }

    private static string ReplicaDirectory(string root, int index) => Path.Combine(root, $"replica-{index}");

    /// <summary>Reuses the formatted data directories under <paramref name="root"/>, or formats new ones on free loopback ports.</summary>
    private static bool TryPrepare(string root, int replicas, TextWriter error, out StorageIdentity identity)
    {
        identity = null!;
        if (TryInspect(ReplicaDirectory(root, 0)) is { } existing)
        {
            identity = existing;
            for (var i = 1; i < identity.ReplicaCount; i++)
            {
                var other = FileStorage.Inspect(ReplicaDirectory(root, i)).Identity;
                if (other.Cluster != identity.Cluster || !other.Configuration.SequenceEqual(identity.Configuration))
                {
                    error.WriteLine($"vsr cluster: {ReplicaDirectory(root, i)} belongs to another cluster or configuration");
                    return false;
                }
            }

            return true;
        }

        if (replicas is < 1 or > 64)
        {
            error.WriteLine("vsr cluster: --replicas must be 1 to 64");
            return false;
        }

        var configuration = FreeEndpoints(replicas);
        var cluster = (UInt128)BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1;
        for (var i = 0; i < replicas; i++)
        {
            FileStorage.Format(ReplicaDirectory(root, i), new StorageIdentity(cluster, new ReplicaIndex((byte)i), configuration));
        }

        identity = new StorageIdentity(cluster, new ReplicaIndex(0), configuration);
        return true;
    }

    private static StorageIdentity? TryInspect(string directory)
    {
        if (!Directory.Exists(directory) || !Directory.EnumerateFileSystemEntries(directory).Any())
        {
            return null;
        }

        return FileStorage.Inspect(directory).Identity;
    }

    /// <summary>Free TCP ports on 127.0.0.1 (bound and released at once), as HOST:PORT.</summary>
    internal static List<string> FreeEndpoints(int count)
    {
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                sockets.Add(socket);
            }

            return sockets.Select(s => $"127.0.0.1:{((IPEndPoint)s.LocalEndPoint!).Port}").ToList();
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    private static async Task StopAllAsync(List<ReplicaProcess> children, TextWriter output)
    {
        await Task.WhenAll(children.Select(c => c.StopAsync(TimeSpan.FromSeconds(10)))).ConfigureAwait(false);
        children.ForEach(c => c.Dispose());
        if (children.Count > 0)
        {
            await output.WriteLineAsync("stopped").ConfigureAwait(false);
        }
    }
}
