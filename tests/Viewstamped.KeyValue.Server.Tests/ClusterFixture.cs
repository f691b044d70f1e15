using System.Net;
using System.Net.Sockets;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Host;

namespace Viewstamped.KeyValue.Server.Tests;

/// <summary>Three in-process replicas of the key-value service on loopback, a RESP server on each, and one more with a password.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string Password = "s3cret";

    public List<ReplicaHost> Hosts { get; } = [];

    public List<RespServer> Servers { get; } = [];

    /// <summary>Each replica's service, for comparing states once the cluster is quiet.</summary>
    public List<KeyValueService> Services { get; } = [];

    public RespServer SecuredServer { get; private set; } = null!;

    private readonly List<ViewstampedClient> clients = [];

    public int PrimaryIndex { get; private set; }

    public int BackupIndex => (PrimaryIndex + 1) % Hosts.Count;

    public async Task InitializeAsync()
    {
        const int count = 3;
        var cluster = (UInt128)Random.Shared.NextInt64(1, long.MaxValue);
        var endpoints = FreeEndpoints(count);
        for (var i = 0; i < count; i++)
        {
            var options = new ReplicaHostOptions { Cluster = cluster, Replica = i };
            options.Replicas.AddRange(endpoints);
            var service = new KeyValueService(() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Services.Add(service);
            var host = new ReplicaHost(options, service, new MemoryStorage());
            Hosts.Add(host);
            await host.StartAsync();
        }

        for (var i = 0; i <= count; i++)
        {
            var clientOptions = new ViewstampedClientOptions { Cluster = cluster, Sessions = 4 };
            clientOptions.Replicas.AddRange(endpoints);
            var client = new ViewstampedClient(clientOptions);
            clients.Add(client);
            var host = Hosts[i % count];
            var server = new RespServer(
                new RespServerOptions
                {
                    EndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                    ReplicaCount = count,
                    RequirePass = i == count ? Password : null,
                    MaxPipelinedCommands = 16,
                    DatasetBytes = i < count ? () => Services[i % count].BytesHeld : null,
                },
                client,
                () => host.Status);
            server.Start();
            if (i == count)
            {
                SecuredServer = server;
            }
            else
            {
                Servers.Add(server);
            }
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var waits = Hosts.Select(h => h.WaitForStatusAsync(s => s.IsPrimary && s.Status == ReplicaStatus.Normal, cts.Token)).ToList();
        var status = await await Task.WhenAny(waits);
        await cts.CancelAsync();
        PrimaryIndex = status.Replica.Value;
    }

    public RespServer Backup => Servers[BackupIndex];

    public RespServer Primary => Servers[PrimaryIndex];

    public async Task DisposeAsync()
    {
        foreach (var server in Servers.Append(SecuredServer))
        {
            await server.DisposeAsync();
        }

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }

        foreach (var host in Hosts)
        {
            await host.StopAsync();
        }
    }

    private static List<string> FreeEndpoints(int count)
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
