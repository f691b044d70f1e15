using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Security;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Host;

/// <summary>Free loopback ports: bound to port 0 together, then released.</summary>
public static class Ports
{
    public static List<string> FreeEndpoints(int count)
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
}

/// <summary>A logger provider that keeps every message, to check logged reasons.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CapturingLogger(this, categoryName);

    public void Dispose()
    {
    }

    public bool Contains(string text) => Entries.Any(e => e.Message.Contains(text, StringComparison.Ordinal));

    public string Dump() => string.Join(Environment.NewLine, Entries.Select(e => $"{e.Level} {e.Category}: {e.Message}"));

    private sealed class CapturingLogger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((category, logLevel, formatter(state, exception)));
    }
}

/// <summary>Replicas running in this process on loopback, each with memory storage and an Adder.</summary>
public sealed class InProcessCluster : IAsyncDisposable
{
    private InProcessCluster(UInt128 cluster, List<string> endpoints, ClusterKey? key, CapturingLoggerProvider logs)
    {
        Cluster = cluster;
        Endpoints = endpoints;
        Key = key;
        Logs = logs;
        LoggerFactory = Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(logs));
        Hosts = new ReplicaHost?[endpoints.Count];
        Storages = endpoints.Select(_ => new MemoryStorage()).ToArray();
        Services = new Adder[endpoints.Count];
    }

    public UInt128 Cluster { get; }

    public List<string> Endpoints { get; }

    public ClusterKey? Key { get; }

    public CapturingLoggerProvider Logs { get; }

    public ILoggerFactory LoggerFactory { get; }

    public ReplicaHost?[] Hosts { get; }

    public MemoryStorage[] Storages { get; }

    public Adder[] Services { get; }

    public Action<ReplicaHostOptions>? Configure { get; set; }

    public static async Task<InProcessCluster> StartAsync(int count, ClusterKey? key = null, Action<ReplicaHostOptions>? configure = null)
    {
        var cluster = new InProcessCluster((UInt128)Random.Shared.NextInt64(1, long.MaxValue), Ports.FreeEndpoints(count), key, new CapturingLoggerProvider())
        {
            Configure = configure,
        };
        for (var i = 0; i < count; i++)
        {
            await cluster.StartReplicaAsync(i);
        }

        return cluster;
    }

    public ReplicaHostOptions OptionsFor(int index, ClusterKey? key)
    {
        var options = new ReplicaHostOptions { Cluster = Cluster, Replica = index, Key = key };
        options.Replicas.AddRange(Endpoints);
        Configure?.Invoke(options);
        return options;
    }

    public async Task StartReplicaAsync(int index, ClusterKey? key = null, bool freshStorage = false)
    {
        if (freshStorage)
        {
            Storages[index] = new MemoryStorage();
        }

        Services[index] = new Adder();
        var host = new ReplicaHost(OptionsFor(index, key ?? Key), Services[index], Storages[index], LoggerFactory);
        Hosts[index] = host;
        await host.StartAsync();
    }

    public async Task StopReplicaAsync(int index)
    {
        if (Hosts[index] is { } host)
        {
            Hosts[index] = null;
            await host.StopAsync();
        }
    }

    public ViewstampedClient CreateClient(ClusterKey? key = null, Action<ViewstampedClientOptions>? configure = null)
    {
        var options = new ViewstampedClientOptions { Cluster = Cluster, Key = key ?? Key, RequestTimeout = TimeSpan.FromSeconds(10) };
        options.Replicas.AddRange(Endpoints);
        configure?.Invoke(options);
        return new ViewstampedClient(options, LoggerFactory);
    }

    public async Task<ReplicaHost> WaitForPrimaryAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var waits = Hosts.Where(h => h is not null).Select(h => h!.WaitForStatusAsync(s => s.IsPrimary && s.Status == ReplicaStatus.Normal, cts.Token)).ToList();
        var first = await Task.WhenAny(waits);
        var status = await first;
        await cts.CancelAsync();
        return Hosts[status.Replica.Value]!;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Hosts)
        {
            if (host is not null)
            {
                await host.StopAsync();
            }
        }

        LoggerFactory.Dispose();
    }
}

/// <summary>Bounded waits for socket tests.</summary>
public static class Bounded
{
    public static readonly TimeSpan Short = TimeSpan.FromSeconds(10);

    public static async Task<T> Within<T>(Task<T> task, TimeSpan timeout, string what)
    {
        try
        {
            return await task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{what} did not happen within {timeout.TotalSeconds} s");
        }
    }
}
