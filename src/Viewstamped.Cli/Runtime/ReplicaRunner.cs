using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Viewstamped.Cli.Commands;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Hosting;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Cli.Runtime;

/// <summary>What <c>vsr replica</c> was asked to run.</summary>
public sealed record ReplicaSettings
{
    /// <summary>The data directory (formatted with <c>vsr format</c>); null for in-memory state.</summary>
    public string? Data { get; init; }

    /// <summary>The cluster id, required without <see cref="Data"/>.</summary>
    public UInt128? Cluster { get; init; }

    /// <summary>The replica index, required without <see cref="Data"/>.</summary>
    public int? Replica { get; init; }

    /// <summary>Every replica's endpoint, required without <see cref="Data"/>.</summary>
    public IReadOnlyList<string> Replicas { get; init; } = [];

    /// <summary>Where to listen instead of the configured endpoint.</summary>
    public string? Listen { get; init; }

    /// <summary>The cluster key file; none runs unauthenticated.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Mutual TLS files given on the command line; they replace those in the data directory's security.json.</summary>
    public SecurityConfig? Tls { get; init; }

    /// <summary>The tick length in milliseconds.</summary>
    public int TickMilliseconds { get; init; } = 10;

    /// <summary>Print a status line this often (0: never).</summary>
    public int StatusIntervalMilliseconds { get; init; }

    /// <summary>The replica lost its state and rejoins through the Recovery protocol (in-memory restarts).</summary>
    public bool Rejoin { get; init; }

    /// <summary>A checkpoint also after this many bytes of executed log (0: by op count only); null keeps the default.</summary>
    public long? CheckpointBytesInterval { get; init; }

    /// <summary>Stop when standard input reaches its end.</summary>
    public bool StopOnEndOfInput { get; init; }

    /// <summary>The lowest level logged to standard error.</summary>
    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    /// <summary>Sets the options' <see cref="ReplicaHostOptions.CheckpointBytesInterval"/> when one was given.</summary>
    public void ApplyCheckpointBytes(ReplicaHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (CheckpointBytesInterval is { } bytes)
        {
            options.CheckpointBytesInterval = bytes;
        }
    }
}

/// <summary>Runs one replica of the Adder service in a generic host until stopped.</summary>
public static class ReplicaRunner
{
    /// <summary>
    /// Starts the replica, prints <c>ready replica=I listen=HOST:PORT cluster=ID</c> on standard output
    /// (and <c>status ...</c> lines when asked), and runs until <paramref name="cancellationToken"/>
    /// fires (Ctrl-C), the process gets SIGTERM, or standard input ends (with <see cref="ReplicaSettings.StopOnEndOfInput"/>).
    /// Logs go to standard error.
    /// </summary>
    public static async Task<int> RunAsync(ReplicaSettings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Logging.SetMinimumLevel(settings.LogLevel);
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None); // start failures are printed below
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        });
        builder.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);

        if (!TryConfigure(settings, error, out var configure) || !TryResolveTls(settings, error, out var tls))
        {
            return ExitCodes.BadArguments;
        }

        builder.Services.AddViewstampedReplica<ObservableAdder>(options =>
        {
            configure(options);
            UseTls(options, tls);
        });
        using var app = builder.Build();
        var replica = app.Services.GetRequiredService<ViewstampedReplicaService<ObservableAdder>>();
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
        catch (Exception e) when (IsStartFailure(e))
        {
            await error.WriteLineAsync($"vsr replica: cannot start: {e.Message}").ConfigureAwait(false);
            return ExitCodes.BadArguments;
        }

        var host = replica.Host!;
        var service = replica.Service!;
        var options = app.Services.GetRequiredService<IOptions<ReplicaHostOptions>>().Value;
        await output.WriteLineAsync(
            $"ready replica={host.Index} listen={Endpoints.Format(host.LocalEndPoint!)} cluster={StorageIdentity.FormatCluster(options.Cluster)} replicas={string.Join(',', options.Replicas)}").ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        using (var stop = new StopSignal(settings.StopOnEndOfInput, cancellationToken, lifetime.ApplicationStopping))
        {
            await stop.WaitAsync(settings.StatusIntervalMilliseconds, async () =>
            {
                await output.WriteLineAsync($"status {host.Status} total={service.Total}").ConfigureAwait(false);
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
            }).ConfigureAwait(false);
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

    /// <summary>Exceptions that mean the replica could not start with what it was given, reported in one line rather than a stack trace.</summary>
    internal static bool IsStartFailure(Exception e) =>
        e is StorageException or SocketException or IOException or FormatException or InvalidOperationException or InvalidDataException or UnauthorizedAccessException or CryptographicException;

    /// <summary>
    /// The mutual TLS files the replica uses: those on the command line, else those the data
    /// directory's security.json names, else none. Each is loaded once here, so that a missing,
    /// unreadable or mismatched file stops the start with a sentence that names it.
    /// </summary>
    internal static bool TryResolveTls(ReplicaSettings settings, TextWriter error, out SecurityConfig? tls)
    {
        tls = settings.Tls;
        string? source = null;
        if (tls is null && settings.Data is { } data && Directory.Exists(data))
        {
            source = Path.Combine(data, SecurityConfig.FileName);
            try
            {
                tls = SecurityConfig.Load(data);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"vsr replica: {e.Message}");
                return false;
            }
        }

        if (tls is not null && TlsArguments.Check(tls, source) is { } problem)
        {
            error.WriteLine($"vsr replica: {problem}");
            return false;
        }

        return true;
    }

    /// <summary>Names the <paramref name="tls"/> files in the options, which keeps the hosting from reading security.json again.</summary>
    internal static void UseTls(ReplicaHostOptions options, SecurityConfig? tls)
    {
        if (tls is not null)
        {
            options.TlsCertificateFile = tls.TlsCertificateFile;
            options.TlsKeyFile = tls.TlsKeyFile;
            options.TlsAuthorityFile = tls.TlsAuthorityFile;
        }
    }

    private static bool TryConfigure(ReplicaSettings settings, TextWriter error, out Action<ReplicaHostOptions> configure)
    {
        configure = _ => { };
        UInt128 cluster;
        int index;
        IReadOnlyList<string> replicas;
        if (settings.Data is { } data)
        {
            StorageIdentity identity;
            try
            {
                identity = FileStorage.Inspect(data).Identity;
            }
            catch (Exception e) when (e is StorageException or IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"vsr replica: {data}: {e.Message}");
                return false;
            }

            if ((settings.Cluster is { } c && c != identity.Cluster) || (settings.Replica is { } r && r != identity.Replica.Value)
                || (settings.Replicas.Count > 0 && !settings.Replicas.SequenceEqual(identity.Configuration, StringComparer.OrdinalIgnoreCase)))
            {
                error.WriteLine($"vsr replica: {data} was formatted as {identity}; the options given disagree with it");
                return false;
            }

            (cluster, index, replicas) = (identity.Cluster, identity.Replica.Value, identity.Configuration);
        }
        else
        {
            if (settings.Cluster is null || settings.Replica is null || settings.Replicas.Count == 0)
            {
                error.WriteLine("vsr replica: give --data DIR, or all of --cluster, --replica and --replicas (state is then kept in memory)");
                return false;
            }

            (cluster, index, replicas) = (settings.Cluster.Value, settings.Replica.Value, settings.Replicas);
        }

        configure = options =>
        {
            options.Cluster = cluster;
            options.Replica = index;
            options.Replicas.Clear();
            options.Replicas.AddRange(replicas);
            options.DataDirectory = settings.Data;
            options.KeyFile = settings.KeyFile;
            options.Listen = settings.Listen;
            options.TickInterval = TimeSpan.FromMilliseconds(settings.TickMilliseconds);
            options.Rejoin = settings.Rejoin;
            settings.ApplyCheckpointBytes(options);
        };
        return true;
    }
}
