using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Viewstamped.Cli.Runtime;
using Viewstamped.KeyValue;
using Viewstamped.KeyValue.Server;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Hosting;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr replica</c>: runs one replica process serving the Adder sample service or (<c>--service kv</c>) the key-value service, optionally behind a RESP server.</summary>
public static class ReplicaCommand
{
    /// <summary>Builds the <c>replica</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = "The replica's data directory, made by 'vsr format'; it names the cluster, the replica and the configuration." };
        var cluster = new Option<string?>("--cluster") { Description = "Cluster id (decimal or 0x-hex), without --data (state in memory)." };
        var replica = new Option<int?>("--replica") { Description = "This replica's index, without --data." };
        var replicas = new Option<string?>("--replicas") { Description = "Every replica's HOST:PORT, comma-separated in index order, without --data." };
        var listen = new Option<string?>("--listen") { Description = "Listen on this HOST:PORT instead of the configured one." };
        var keyFile = new Option<string?>("--key-file") { Description = "The cluster key (from 'vsr keygen'). Without it the replica runs unauthenticated, and warns." };
        var service = new Option<string>("--service") { Description = "The replicated service.", DefaultValueFactory = _ => "adder" };
        service.AcceptOnlyFromAmong("adder", "kv");
        var resp = new Option<string?>("--resp") { Description = "With --service kv: serve RESP2 (Redis protocol) on this IP:PORT." };
        var requirePass = new Option<string?>("--requirepass") { Description = "With --resp: the password RESP clients must give with AUTH." };
        var tick = new Option<int>("--tick-ms") { Description = "Milliseconds per logical tick.", DefaultValueFactory = _ => 10 };
        var status = new Option<int>("--status-interval-ms") { Description = "Print a 'status ...' line on standard output this often (0: never).", DefaultValueFactory = _ => 0 };
        var checkpointBytes = new Option<long?>("--checkpoint-bytes")
        {
            Description = "Also take a checkpoint once this many bytes of log were executed since the last one; 0: by op count only. Default 33554432 (32 MiB).",
        };
        var rejoin = new Option<bool>("--rejoin") { Description = "Without --data: this replica lost its state; rejoin through the Recovery protocol." };
        var stopOnEof = new Option<bool>("--stop-on-eof") { Description = "Stop cleanly when standard input ends (for supervisors and tests)." };
        var tls = new TlsArguments("this replica's");
        tls.Certificate.Description += " With --data, these three replace the files named in the directory's security.json.";
        var logLevel = new Option<LogLevel>("--log-level") { Description = "Lowest level logged to standard error.", DefaultValueFactory = _ => LogLevel.Information };

        var command = new Command("replica", "Run one replica of the Adder sample service (or, with --service kv, the key-value service; --resp serves Redis clients) until Ctrl-C, SIGTERM or (with --stop-on-eof) the end of standard input.")
        {
            data, cluster, replica, replicas, listen, keyFile, service, resp, requirePass, tick, status, checkpointBytes, rejoin, stopOnEof, logLevel,
        };
        foreach (var option in tls.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            UInt128? clusterId = null;
            if (parse.GetValue(cluster) is { } clusterText)
            {
                if (!StorageIdentity.TryParseCluster(clusterText, out var parsed, out var clusterError))
                {
                    await error.WriteLineAsync($"vsr replica: {clusterError}").ConfigureAwait(false);
                    return ExitCodes.BadArguments;
                }

                clusterId = parsed;
            }

            var endpoints = parse.GetValue(replicas) is { } list ? Endpoints.SplitList(list) : [];
            if (parse.GetValue(tick) is < 1 or > 10_000)
            {
                await error.WriteLineAsync("vsr replica: --tick-ms must be 1 to 10000").ConfigureAwait(false);
                return ExitCodes.BadArguments;
            }

            if (parse.GetValue(checkpointBytes) is < 0)
            {
                await error.WriteLineAsync("vsr replica: --checkpoint-bytes must be 0 (by op count only) or more").ConfigureAwait(false);
                return ExitCodes.BadArguments;
            }

            var settings = new ReplicaSettings
            {
                CheckpointBytesInterval = parse.GetValue(checkpointBytes),
                Data = parse.GetValue(data),
                Cluster = clusterId,
                Replica = parse.GetValue(replica),
                Replicas = endpoints,
                Listen = parse.GetValue(listen),
                KeyFile = parse.GetValue(keyFile),
                Tls = tls.Get(parse),
                TickMilliseconds = parse.GetValue(tick),
                StatusIntervalMilliseconds = Math.Max(0, parse.GetValue(status)),
                Rejoin = parse.GetValue(rejoin),
                StopOnEndOfInput = parse.GetValue(stopOnEof),
                LogLevel = parse.GetValue(logLevel),
            };
            if (parse.GetValue(service) == "kv")
            {
                return await KeyValueReplicaRunner.RunAsync(
                    settings, parse.GetValue(resp), parse.GetValue(requirePass), parse.InvocationConfiguration.Output, error, cancellationToken).ConfigureAwait(false);
            }

            if (parse.GetValue(resp) is not null)
            {
                await error.WriteLineAsync("vsr replica: --resp needs --service kv").ConfigureAwait(false);
                return ExitCodes.BadArguments;
            }

            return await ReplicaRunner.RunAsync(settings, parse.InvocationConfiguration.Output, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }
}

/// <summary>
/// <c>vsr replica --service kv</c>: one replica of the key-value service (clock: Unix milliseconds;
/// a checkpoint every 4096 ops or 32 MiB of log), with an optional RESP
/// server in front (<c>--resp</c>), until Ctrl-C, SIGTERM or (with --stop-on-eof) the end of input.
/// </summary>
internal static class KeyValueReplicaRunner
{
    /// <summary>
    /// A checkpoint every 4096 ops, and (<see cref="ReplicaHostOptions.CheckpointBytesInterval"/>, 32 MiB
    /// unless <c>--checkpoint-bytes</c> says otherwise) once the log executed since the last one reaches
    /// that many bytes, which is what keeps the log's memory small when each op is a batch of pipelined commands.
    /// </summary>
    private const ulong CheckpointInterval = 4096;

    /// <summary>
    /// The RESP server's sessions: each carries one batch at a time, so this is how many connections
    /// replicate at once. 64 covers redis-benchmark's default 50 clients.
    /// </summary>
    private const int RespSessions = 64;

    public static async Task<int> RunAsync(ReplicaSettings settings, string? respText, string? requirePass, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        IPEndPoint? respEndPoint = null;
        if (respText is not null && !IPEndPoint.TryParse(respText, out respEndPoint))
        {
            await error.WriteLineAsync($"vsr replica: --resp must be IP:PORT, not '{respText}'").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }

        if (settings.Data is null && (settings.Cluster is null || settings.Replica is null || settings.Replicas.Count == 0))
        {
            await error.WriteLineAsync("vsr replica: give --data DIR, or all of --cluster, --replica and --replicas (state is then kept in memory)").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }

        if (!ReplicaRunner.TryResolveTls(settings, error, out var tls))
        {
            return ExitCodes.BadArguments;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Logging.SetMinimumLevel(settings.LogLevel);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddSingleton<Func<long>>(static () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        builder.Services.AddSingleton(new KeyValueOptions());
        builder.Services.AddViewstampedReplica<KeyValueService>(options =>
        {
            if (settings.Cluster is { } cluster)
            {
                options.Cluster = cluster;
            }

            if (settings.Replica is { } index)
            {
                options.Replica = index;
            }

            if (settings.Replicas.Count > 0)
            {
                options.Replicas.Clear();
                options.Replicas.AddRange(settings.Replicas);
            }

            options.DataDirectory = settings.Data;
            options.KeyFile = settings.KeyFile;
            options.Listen = settings.Listen;
            options.TickInterval = TimeSpan.FromMilliseconds(settings.TickMilliseconds);
            options.Rejoin = settings.Rejoin;
            options.CheckpointInterval = CheckpointInterval;
            settings.ApplyCheckpointBytes(options);
            ReplicaRunner.UseTls(options, tls);
        });
        using var app = builder.Build();
        var replica = app.Services.GetRequiredService<ViewstampedReplicaService<KeyValueService>>();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures)
            {
                await error.WriteLineAsync($"vsr replica: {failure}").ConfigureAwait(false);
            }

            return ExitCodes.BadArguments;
        }
        catch (Exception e) when (ReplicaRunner.IsStartFailure(e))
        {
            await error.WriteLineAsync($"vsr replica: cannot start: {e.Message}").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }

        var host = replica.Host!;
        var hostOptions = app.Services.GetRequiredService<IOptions<ReplicaHostOptions>>().Value;
        ViewstampedClient? client = null;
        RespServer? server = null;
        try
        {
            if (respEndPoint is not null)
            {
                var clientOptions = new ViewstampedClientOptions
                {
                    Cluster = hostOptions.Cluster,
                    KeyFile = settings.KeyFile,
                    TlsCertificateFile = hostOptions.TlsCertificateFile,
                    TlsKeyFile = hostOptions.TlsKeyFile,
                    TlsAuthorityFile = hostOptions.TlsAuthorityFile,
                    Sessions = RespSessions,
                };
                clientOptions.Replicas.AddRange(hostOptions.Replicas);
                client = new ViewstampedClient(clientOptions, app.Services.GetService<ILoggerFactory>());
                server = new RespServer(
                    new RespServerOptions
                    {
                        EndPoint = respEndPoint,
                        RequirePass = requirePass,
                        ReplicaCount = hostOptions.Replicas.Count,
                        DatasetBytes = () => replica.Service?.BytesHeld ?? 0,
                    },
                    client,
                    () => host.Status,
                    app.Services.GetService<ILoggerFactory>()?.CreateLogger("Viewstamped.Resp"));
                try
                {
                    server.Start();
                }
                catch (SocketException e)
                {
                    await error.WriteLineAsync($"vsr replica: cannot listen on --resp {respText}: {e.Message}").ConfigureAwait(false);
                    await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
                    return ExitCodes.BadArguments;
                }
            }

            var respPart = server is null ? string.Empty : $" resp={Endpoints.Format(server.LocalEndPoint!)}";
            await output.WriteLineAsync(
                $"ready replica={host.Index} listen={Endpoints.Format(host.LocalEndPoint!)} cluster={StorageIdentity.FormatCluster(hostOptions.Cluster)} replicas={string.Join(',', hostOptions.Replicas)} service=kv{respPart}").ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);

            await WaitForStopAsync(settings, host, app, output, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }

            if (client is not null)
            {
                await client.DisposeAsync().ConfigureAwait(false);
            }
        }

        using (var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await app.StopAsync(stopTimeout.Token).ConfigureAwait(false);
        }

        if (replica.Fault is { } fault)
        {
            await error.WriteLineAsync($"vsr replica: stopped on a fatal error: {fault.Message}").ConfigureAwait(false);
            return ExitCodes.UnexpectedException;
        }

        await output.WriteLineAsync($"stopped replica={host.Index}").ConfigureAwait(false);
        return ExitCodes.Ok;
    }

    private static async Task WaitForStopAsync(ReplicaSettings settings, ReplicaHost host, IHost app, TextWriter output, CancellationToken cancellationToken)
    {
        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        using var stop = new StopSignal(settings.StopOnEndOfInput, cancellationToken, lifetime.ApplicationStopping);
        await stop.WaitAsync(settings.StatusIntervalMilliseconds, async () =>
        {
            await output.WriteLineAsync($"status {host.Status}").ConfigureAwait(false);
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }
}
