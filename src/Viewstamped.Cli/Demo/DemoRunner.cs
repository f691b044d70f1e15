using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Spectre.Console;
using Spectre.Console.Rendering;
using Viewstamped.Cli.Commands;
using Viewstamped.Cli.Runtime;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Cli.Demo;

/// <summary>
/// <c>vsr demo</c>: a 3-replica key-value cluster of real <c>vsr replica</c> processes with durable
/// storage in a temporary directory; clients write and read; the primary is killed with SIGKILL
/// part-way and restarted later; at the end every acknowledged write is read back and the recorded
/// history is checked for linearizability. Processes and the directory are always cleaned up.
/// </summary>
public static class DemoRunner
{
    private const int Replicas = 3;
    private static readonly TimeSpan readyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan primaryTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan checkTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan frame = TimeSpan.FromMilliseconds(200);

    /// <summary>Runs the demo. Exit codes: 0 all good, 10 an acknowledged write lost or a non-linearizable history, 11 the cluster stopped making progress, 1 bad arguments.</summary>
    public static async Task<int> RunAsync(DemoSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (await ExitCodes.ReportProblemsAsync("demo", settings.Validate(), error).ConfigureAwait(false))
        {
            return ExitCodes.BadArguments;
        }

        var root = Path.Combine(Path.GetTempPath(), "vsr-demo-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        var replicas = new List<ReplicaProcess>();
        using var stop = new StopSignal(false, cancellationToken);
        using var stopping = new CancellationTokenSource();
        _ = stop.Stopped.ContinueWith(_ => stopping.Cancel(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            var run = new DemoRun(settings, root, replicas, output);
            return await run.ExecuteAsync(stopping.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            await error.WriteLineAsync("vsr demo: interrupted; stopping the replicas").ConfigureAwait(false);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StorageException)
        {
            await error.WriteLineAsync($"vsr demo: {e.Message}").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }
        finally
        {
            await Task.WhenAll(replicas.Select(r => r.StopAsync(TimeSpan.FromSeconds(5)))).ConfigureAwait(false);
            replicas.ForEach(r => r.Dispose());

            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>One run: the cluster, the clients, the timeline and what was seen.</summary>
    private sealed class DemoRun(DemoSettings settings, string root, List<ReplicaProcess> replicas, TextWriter output)
    {
        private readonly List<(double Seconds, string Text)> events = [];
        private readonly Stopwatch clock = new();
        private int printedEvents;
        private DemoWorkload? workload;
        private long killedAt;
        private int killed = -1;
        private double? failoverSeconds;
        private double? rejoinSeconds;
        private long lastAcknowledged;
        private double lastSeconds;
        private double rate;

        public async Task<int> ExecuteAsync(CancellationToken cancellationToken)
        {
            var keyFile = Path.Combine(root, "cluster.key");
            Directory.CreateDirectory(root);
            var key = ClusterKey.Generate();
            key.Save(keyFile);
            var configuration = ClusterRunner.FreeEndpoints(Replicas);
            var cluster = (UInt128)BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | 1;
            for (var i = 0; i < Replicas; i++)
            {
                var directory = Path.Combine(root, $"replica-{i}");
                FileStorage.Format(directory, new StorageIdentity(cluster, new ReplicaIndex((byte)i), configuration));
                replicas.Add(new ReplicaProcess(
                    i,
                    ["replica", "--data", directory, "--key-file", keyFile, "--service", "kv", "--stop-on-eof", "--status-interval-ms", "100", "--log-level", "Warning"],
                    static (_, _) => { }));
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"vsr demo: {Replicas} replica processes on {string.Join(',', configuration)}, durable storage in {root}; {settings.Clients} clients for {settings.DurationSeconds:0.#} s; the primary is killed (SIGKILL) at {settings.DurationSeconds * DemoSettings.KillAt:0.#} s and restarted at {settings.DurationSeconds * DemoSettings.RestartAt:0.#} s")).ConfigureAwait(false);
            replicas.ForEach(r => r.Start());
            if (!await WaitReadyAsync(cancellationToken).ConfigureAwait(false))
            {
                return ExitCodes.Liveness;
            }

            var clientOptions = new ViewstampedClientOptions { Cluster = cluster, Key = key, Sessions = settings.Clients + 1 };
            clientOptions.Replicas.AddRange(configuration);
            await using var client = new ViewstampedClient(clientOptions);
            workload = new DemoWorkload(client, settings.Clients);
            clock.Start();
            workload.Start();
            try
            {
                if (settings.Live)
                {
                    await AnsiConsole.Live(Render()).AutoClear(false).StartAsync(async context =>
                    {
                        await TimelineAsync(() => context.UpdateTarget(Render()), cancellationToken).ConfigureAwait(false);
                        context.UpdateTarget(Render());
                    }).ConfigureAwait(false);
                }
                else
                {
                    await TimelineAsync(PrintPlain, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                await workload.StopAsync().ConfigureAwait(false);
            }

            return await FinishAsync(cancellationToken).ConfigureAwait(false);
        }

        private async Task<bool> WaitReadyAsync(CancellationToken cancellationToken)
        {
            try
            {
                await Task.WhenAll(replicas.Select(r => r.Ready)).WaitAsync(readyTimeout, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                await output.WriteLineAsync($"vsr demo: the replicas did not start: {e.Message}").ConfigureAwait(false);
                foreach (var replica in replicas)
                {
                    await output.WriteLineAsync($"replica {replica.Index}:{Environment.NewLine}{replica.RecentOutput()}").ConfigureAwait(false);
                }

                return false;
            }
        }

        /// <summary>Runs the clients for the duration: kills the primary at 30%, restarts it at 55%, watches for the failover and the rejoin.</summary>
        private async Task TimelineAsync(Action refresh, CancellationToken cancellationToken)
        {
            var duration = settings.DurationSeconds;
            var restarted = false;
            while (clock.Elapsed.TotalSeconds < duration)
            {
                await Task.Delay(frame, cancellationToken).ConfigureAwait(false);
                var now = clock.Elapsed.TotalSeconds;
                if (killed < 0 && now >= duration * DemoSettings.KillAt)
                {
                    if (replicas.FirstOrDefault(r => r.IsNormalPrimary) is { } primary)
                    {
                        var pid = primary.Pid;
                        primary.Kill();
                        killedAt = Stopwatch.GetTimestamp(); // after the process is gone: later writes cannot reach it
                        killed = primary.Index;
                        Event($"killed the primary, replica {primary.Index} (pid {pid}), with SIGKILL");
                    }
                    else if (now >= (duration * DemoSettings.KillAt) + primaryTimeout.TotalSeconds)
                    {
                        Event("no replica reported itself primary: the cluster is not making progress");
                        refresh();
                        return;
                    }
                }

                if (killed >= 0 && failoverSeconds is null && workload!.FirstWriteAcknowledgedAfter(killedAt) is { } acked)
                {
                    failoverSeconds = Stopwatch.GetElapsedTime(killedAt, acked).TotalSeconds;
                    var primary = replicas.FirstOrDefault(r => r.IsNormalPrimary);
                    Event(string.Create(CultureInfo.InvariantCulture,
                        $"failover: a write committed in the new view {failoverSeconds:0.000} s after the kill{(primary is null ? string.Empty : $"; replica {primary.Index} is primary")}"));
                }

                if (killed >= 0 && !restarted && now >= duration * DemoSettings.RestartAt)
                {
                    restarted = true;
                    replicas[killed].Start();
                    Event($"restarted replica {killed} from its data directory");
                }

                if (restarted && rejoinSeconds is null && replicas[killed].Status is { } status && status.GetValueOrDefault("status") == "Normal")
                {
                    rejoinSeconds = now - (duration * DemoSettings.RestartAt);
                    Event(string.Create(CultureInfo.InvariantCulture, $"replica {killed} recovered and rejoined (view {status.GetValueOrDefault("view")})"));
                }

                var acknowledged = workload!.Acknowledged;
                if (now - lastSeconds >= 1)
                {
                    rate = (acknowledged - lastAcknowledged) / (now - lastSeconds);
                    (lastAcknowledged, lastSeconds) = (acknowledged, now);
                }

                refresh();
            }
        }

        private async Task<int> FinishAsync(CancellationToken cancellationToken)
        {
            var acknowledged = workload!.Acknowledged;
            var unknown = workload.Unknown;
            var journal = workload.JournalWrites;
            int? lost;
            using (var readBack = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                readBack.CancelAfter(TimeSpan.FromSeconds(60));
                lost = await workload.ReadBackAsync(readBack.Token).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var checkClock = Stopwatch.StartNew();
            var (result, operations) = workload.Check(checkTimeout);
            var checkSeconds = checkClock.Elapsed.TotalSeconds;
            var linearizable = result.Verdict switch
            {
                Simulation.Linearizability.Verdict.Linearizable => "yes",
                Simulation.Linearizability.Verdict.NotLinearizable => "NO",
                _ => "unknown (the checker ran out of time)",
            };

            var lines = new List<string>
            {
                $"operations acknowledged: {acknowledged.ToString("N0", CultureInfo.InvariantCulture)} (unknown outcome: {unknown})",
                lost is { } count
                    ? string.Create(CultureInfo.InvariantCulture, $"acknowledged writes read back: {journal - count:N0} of {journal:N0}")
                    : "acknowledged writes read back: the reads did not complete",
                $"operations lost: {(lost is { } missing ? missing.ToString(CultureInfo.InvariantCulture) : "unknown")}",
                string.Create(CultureInfo.InvariantCulture, $"linearizable: {linearizable} ({operations:N0} operations checked in {checkSeconds:0.00} s)"),
                failoverSeconds is { } f
                    ? string.Create(CultureInfo.InvariantCulture, $"failover time: {f:0.000} s (primary killed to first write committed in the new view)")
                    : "failover time: none (no write committed after the kill)",
                rejoinSeconds is { } r
                    ? string.Create(CultureInfo.InvariantCulture, $"restarted replica rejoined: {r:0.0} s after its restart")
                    : "restarted replica rejoined: not seen",
            };

            int code;
            string verdict;
            if ((lost ?? 0) > 0 || result.Verdict == Simulation.Linearizability.Verdict.NotLinearizable)
            {
                (code, verdict) = (ExitCodes.Correctness, "FAILED: an acknowledged write was lost or the history is not linearizable");
                if (result.FailingPartition is { } failing)
                {
                    lines.Add("first operations on the failing key:");
                    lines.AddRange(failing.Take(20).Select(o => "  " + o));
                }
            }
            else if (lost is null || failoverSeconds is null || result.Verdict != Simulation.Linearizability.Verdict.Linearizable)
            {
                (code, verdict) = (ExitCodes.Liveness, "FAILED: the cluster did not make progress through the failover, or the check could not finish");
            }
            else
            {
                (code, verdict) = (ExitCodes.Ok, "OK: nothing acknowledged was lost and every reply was linearizable");
            }

            foreach (var line in lines)
            {
                await output.WriteLineAsync(line).ConfigureAwait(false);
            }

            await output.WriteLineAsync($"result: {verdict}").ConfigureAwait(false);
            return code;
        }

        private void Event(string text)
        {
            lock (events)
            {
                events.Add((clock.Elapsed.TotalSeconds, text));
            }
        }

        private void PrintPlain()
        {
            lock (events)
            {
                for (; printedEvents < events.Count; printedEvents++)
                {
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{events[printedEvents].Seconds,6:0.0} s  {events[printedEvents].Text}"));
                }
            }

            var now = clock.Elapsed.TotalSeconds;
            if (Math.Floor(now) > Math.Floor(now - frame.TotalSeconds))
            {
                var primary = replicas.FirstOrDefault(r => r.IsNormalPrimary);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{now,6:0.0} s  acknowledged {workload!.Acknowledged:N0} ({rate:N0}/s), unknown {workload.Unknown}, primary {(primary is null ? "none" : $"replica {primary.Index}")}"));
            }
        }

        private IRenderable Render()
        {
            var table = new Table().Border(TableBorder.Rounded)
                .AddColumns("replica", "pid", "process", "status", "view", "role", "op", "commit");
            foreach (var replica in replicas)
            {
                var status = replica.IsRunning ? replica.Status : null;
                var role = status is null ? "-" : status.GetValueOrDefault("primary") == "True" ? "[bold green]primary[/]" : "backup";
                table.AddRow(
                    replica.Index.ToString(CultureInfo.InvariantCulture),
                    replica.IsRunning ? replica.Pid.ToString(CultureInfo.InvariantCulture) : "-",
                    replica.IsRunning ? "running" : "[red]killed[/]",
                    Markup.Escape(status?.GetValueOrDefault("status") ?? "-"),
                    Markup.Escape(status?.GetValueOrDefault("view") ?? "-"),
                    role,
                    Markup.Escape(status?.GetValueOrDefault("op") ?? "-"),
                    Markup.Escape(status?.GetValueOrDefault("commit") ?? "-"));
            }

            var elapsed = Math.Min(clock.Elapsed.TotalSeconds, settings.DurationSeconds);
            var header = new Markup(string.Create(CultureInfo.InvariantCulture,
                $"[bold]vsr demo[/]  {elapsed:0.0} / {settings.DurationSeconds:0} s   acknowledged [bold]{workload?.Acknowledged ?? 0:N0}[/] ({rate:N0} ops/s)   unknown outcome {workload?.Unknown ?? 0}"));
            List<(double Seconds, string Text)> recent;
            lock (events)
            {
                recent = events.TakeLast(6).ToList();
            }

            var log = new Rows(recent.Select(e => (IRenderable)new Markup(Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"{e.Seconds,6:0.0} s  {e.Text}")))));
            return new Rows(header, table, log);
        }
    }
}
