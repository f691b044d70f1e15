using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Viewstamped.Cli.Commands;
using Viewstamped.KeyValue;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Cli.Bench;

/// <summary>
/// <c>vsr bench</c>: closed-loop clients SET values of a given size on random keys for a given
/// time, against an embedded cluster (replicas in this process, each with its own
/// <see cref="FileStorage"/>, so each fsyncs before it acknowledges) or a running one
/// (<c>--target</c>), and report throughput, latency percentiles and the fsync rate.
/// </summary>
public static class BenchRunner
{
    private static readonly TimeSpan drainTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan readyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs the benchmark; the exit code is <see cref="ExitCodes.Ok"/>, <see cref="ExitCodes.BadArguments"/>, or <see cref="ExitCodes.Liveness"/> when nothing was acknowledged.</summary>
    public static async Task<int> RunAsync(BenchSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (await ExitCodes.ReportProblemsAsync("bench", settings.Validate(out var targetCluster), error).ConfigureAwait(false))
        {
            return ExitCodes.BadArguments;
        }

        EmbeddedCluster? embedded = null;
        try
        {
            ViewstampedClientOptions clientOptions;
            if (settings.Target.Count == 0)
            {
                embedded = await EmbeddedCluster.StartAsync(settings.Replicas, cancellationToken).ConfigureAwait(false);
                clientOptions = new ViewstampedClientOptions { Cluster = embedded.Cluster, Key = embedded.Key };
                clientOptions.Replicas.AddRange(embedded.Replicas);
                await error.WriteLineAsync($"vsr bench: embedded cluster of {settings.Replicas} replicas on {string.Join(',', embedded.Replicas)}, data in {embedded.Root} (fsync before every acknowledgement)").ConfigureAwait(false);
            }
            else
            {
                clientOptions = new ViewstampedClientOptions
                {
                    Cluster = targetCluster,
                    KeyFile = settings.KeyFile,
                    TlsCertificateFile = settings.Tls?.TlsCertificateFile,
                    TlsKeyFile = settings.Tls?.TlsKeyFile,
                    TlsAuthorityFile = settings.Tls?.TlsAuthorityFile,
                };
                clientOptions.Replicas.AddRange(settings.Target);
            }

            var result = await MeasureAsync(settings, clientOptions, embedded, output, cancellationToken).ConfigureAwait(false);
            if (result is null)
            {
                await error.WriteLineAsync($"vsr bench: no write was acknowledged within {readyTimeout.TotalSeconds:0} s; is the cluster running and are --cluster, --key and --tls-* right?").ConfigureAwait(false);
                return ExitCodes.Liveness;
            }

            Print(result, output);
            if (settings.Json)
            {
                await output.WriteLineAsync(result.ToJson()).ConfigureAwait(false);
            }

            return result.Ops > 0 ? ExitCodes.Ok : ExitCodes.Liveness;
        }
        catch (Exception e) when (e is StorageException or IOException or System.Net.Sockets.SocketException or UnauthorizedAccessException or FormatException)
        {
            await error.WriteLineAsync($"vsr bench: {e.Message}").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }
        finally
        {
            if (embedded is not null)
            {
                await embedded.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<BenchResult?> MeasureAsync(
        BenchSettings settings, ViewstampedClientOptions template, EmbeddedCluster? embedded, TextWriter output, CancellationToken cancellationToken)
    {
        var connections = (settings.Clients + BenchSettings.ClientsPerConnection - 1) / BenchSettings.ClientsPerConnection;
        var clients = new List<ViewstampedClient>();
        for (var i = 0; i < connections; i++)
        {
            var options = new ViewstampedClientOptions
            {
                Cluster = template.Cluster,
                Key = template.Key,
                KeyFile = template.KeyFile,
                TlsCertificateFile = template.TlsCertificateFile,
                TlsKeyFile = template.TlsKeyFile,
                TlsAuthorityFile = template.TlsAuthorityFile,
                Sessions = BenchSettings.ClientsPerConnection * settings.Pipeline,
            };
            options.Replicas.AddRange(template.Replicas);
            clients.Add(new ViewstampedClient(options));
        }

        try
        {
            // One acknowledged write first: the cluster is up, the client found the primary.
            using (var ready = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                ready.CancelAfter(readyTimeout);
                if (!await TryFirstWriteAsync(clients[0], ready.Token).ConfigureAwait(false))
                {
                    return null;
                }
            }

            var warmup = TimeSpan.FromSeconds(Math.Min(1.0, settings.DurationSeconds * 0.2));
            var load = new Load(settings);
            var started = Stopwatch.GetTimestamp();
            load.MeasureFrom = started + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            load.MeasureUntil = load.MeasureFrom + (long)(settings.DurationSeconds * Stopwatch.Frequency);
            var workers = new List<Task>();
            for (var c = 0; c < settings.Clients; c++)
            {
                var client = clients[c / BenchSettings.ClientsPerConnection];
                for (var d = 0; d < settings.Pipeline; d++)
                {
                    var worker = (c * settings.Pipeline) + d;
                    workers.Add(Task.Run(() => load.RunAsync(client, worker, cancellationToken), CancellationToken.None));
                }
            }

            var totalsBefore = default((long Syncs, long Batches, long Records));
            var costBefore = default(ProcessCost);
            await WatchAsync(
                settings,
                load,
                output,
                () =>
                {
                    totalsBefore = embedded?.StorageTotals() ?? default;
                    costBefore = ProcessCost.Now();
                },
                cancellationToken).ConfigureAwait(false);
            var totalsAfter = embedded?.StorageTotals() ?? default;
            var cost = ProcessCost.Now() - costBefore;
            load.Stop();
            try
            {
                await Task.WhenAll(workers).WaitAsync(drainTimeout, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Invocations stuck past the client's timeout; their latencies are outside the window anyway.
            }

            var seconds = Math.Max(0.001, (Math.Min(Stopwatch.GetTimestamp(), load.MeasureUntil) - load.MeasureFrom) / (double)Stopwatch.Frequency);
            var latencies = load.Latencies();
            var batches = totalsAfter.Batches - totalsBefore.Batches;
            return new BenchResult
            {
                Clients = settings.Clients,
                Pipeline = settings.Pipeline,
                ValueSize = settings.ValueSize,
                Seconds = seconds,
                Ops = latencies.Length,
                Errors = load.Errors,
                P50Milliseconds = Percentile(latencies, 0.50),
                P99Milliseconds = Percentile(latencies, 0.99),
                P999Milliseconds = Percentile(latencies, 0.999),
                MaxMilliseconds = latencies.Length == 0 ? 0 : latencies[^1],
                FsyncsPerSecond = embedded is null ? null : (totalsAfter.Syncs - totalsBefore.Syncs) / seconds,
                EntriesPerFsync = embedded is null ? null : batches == 0 ? 0 : (totalsAfter.Records - totalsBefore.Records) / (double)batches,
                CpuMicrosecondsPerOp = latencies.Length == 0 ? 0 : cost.Cpu.TotalMicroseconds / latencies.Length,
                AllocatedBytesPerOp = latencies.Length == 0 ? 0 : cost.AllocatedBytes / (double)latencies.Length,
                GarbageCollections = cost.Collections,
            };
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static async Task<bool> TryFirstWriteAsync(ViewstampedClient client, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await client.InvokeAsync(KeyValueOperation.Encode("SET", "bench:ready", "1"), cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (Exception e) when (e is OutcomeUnknownException or TimeoutException)
            {
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Waits out the warm-up and the measured window, with a progress bar on a terminal.</summary>
    private static async Task WatchAsync(BenchSettings settings, Load load, TextWriter output, Action onMeasureStart, CancellationToken cancellationToken)
    {
        var interactive = !settings.Json && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var measuring = false;
        async Task TickAsync(Action<double, string>? report)
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                if (!measuring && now >= load.MeasureFrom)
                {
                    measuring = true;
                    onMeasureStart();
                }

                if (now >= load.MeasureUntil)
                {
                    report?.Invoke(1.0, "done");
                    return;
                }

                var elapsed = Math.Max(0, (now - load.MeasureFrom) / (double)Stopwatch.Frequency);
                var rate = elapsed > 0 ? load.Completed / elapsed : 0;
                report?.Invoke(elapsed / settings.DurationSeconds, measuring ? string.Create(CultureInfo.InvariantCulture, $"{rate:N0} ops/s") : "warming up");
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        if (!interactive)
        {
            await TickAsync(null).ConfigureAwait(false);
            return;
        }

        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("bench", maxValue: 1.0);
                await TickAsync((fraction, text) =>
                {
                    task.Value = Math.Clamp(fraction, 0, 1);
                    task.Description = $"{settings.Clients}×{settings.Pipeline} SET {text}";
                }).ConfigureAwait(false);
            }).ConfigureAwait(false);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static void Print(BenchResult result, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            Interactive = InteractionSupport.No,
        });
        var table = new Table().Title("vsr bench: SET").AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (name, value) in result.Rows())
        {
            table.AddRow(Markup.Escape(name), Markup.Escape(value));
        }

        console.Write(table);
    }

    /// <summary>
    /// One worker's key buffers, one per length: <c>key:N</c> is formatted into the buffer of its length, so
    /// the argument is exactly the key's bytes without allocating per request. The buffer is overwritten
    /// by the next call, so use the key before asking for another.
    /// </summary>
    private sealed class SetKeys
    {
        private readonly byte[]?[] byLength = new byte[4 + 11][];

        public byte[] Format(int key)
        {
            Span<byte> text = stackalloc byte[byLength.Length];
            "key:"u8.CopyTo(text);
            key.TryFormat(text[4..], out var digits, provider: CultureInfo.InvariantCulture);
            var length = 4 + digits;
            var buffer = byLength[length] ??= new byte[length];
            text[..length].CopyTo(buffer);
            return buffer;
        }
    }

    /// <summary>The closed loops: each sends one SET, waits for its reply, records the latency, and sends the next.</summary>
    private sealed class Load(BenchSettings settings)
    {
        private readonly List<List<double>> perWorker = [];
        private volatile bool stopped;
        private long completed;
        private long errors;

        public long MeasureFrom { get; set; }

        public long MeasureUntil { get; set; }

        public long Completed => Interlocked.Read(ref completed);

        public long Errors => Interlocked.Read(ref errors);

        public void Stop() => stopped = true;

        public double[] Latencies()
        {
            lock (perWorker)
            {
                var all = perWorker.SelectMany(l => l).ToArray();
                Array.Sort(all);
                return all;
            }
        }

        public async Task RunAsync(ViewstampedClient client, int worker, CancellationToken cancellationToken)
        {
            var latencies = new List<double>();
            lock (perWorker)
            {
                perWorker.Add(latencies);
            }

            var random = new Random(worker);
            var keys = new SetKeys();
            var value = new byte[settings.ValueSize];
            Array.Fill(value, (byte)('a' + (worker % 26)));
            byte[][] arguments = ["SET"u8.ToArray(), [], value];
            var command = new RespCommand(arguments);
            while (!stopped && !cancellationToken.IsCancellationRequested)
            {
                // The load generator shares the process with the cluster, so it allocates only what the client
                // must own: the operation. The key is written into a reused buffer, which the encoding copies.
                arguments[1] = keys.Format(random.Next(settings.Keys));
                var operation = KeyValueOperation.Encode(command);
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await client.InvokeAsync(operation, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is OutcomeUnknownException or TimeoutException or ServiceFailedException)
                {
                    Interlocked.Increment(ref errors);
                    continue;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                var end = Stopwatch.GetTimestamp();
                if (start >= MeasureFrom && end <= MeasureUntil)
                {
                    Interlocked.Increment(ref completed);
                    latencies.Add((end - start) * 1000.0 / Stopwatch.Frequency);
                }
            }
        }
    }
}
