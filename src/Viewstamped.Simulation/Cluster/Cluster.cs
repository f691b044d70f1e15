using Viewstamped.Messages;
using Viewstamped.Samples;

namespace Viewstamped.Simulation;

/// <summary>How to build a simulated cluster.</summary>
public sealed record ClusterOptions
{
    /// <summary>The number of replicas.</summary>
    public int ReplicaCount { get; init; } = 3;

    /// <summary>The seed every random choice of the run comes from.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>The cluster id stamped on every message.</summary>
    public UInt128 ClusterId { get; init; } = 0xC1u;

    /// <summary>Makes a fresh service instance for a replica (at start and at every restart).</summary>
    public Func<IService> ServiceFactory { get; init; } = () => new Adder();

    /// <summary>Adjusts each replica's options (timeouts, checkpoint interval, limits).</summary>
    public Func<ReplicaOptions, ReplicaOptions> ConfigureReplica { get; init; } = options => options;

    /// <summary>Network faults in force from the start.</summary>
    public NetworkOptions Network { get; init; } = new();

    /// <summary>Ticks a client waits for a reply before it re-sends to every replica.</summary>
    public int ClientTimeoutTicks { get; init; } = 60;

    /// <summary>
    /// An environment mutation, for checker tests only: a Ready's messages are sent at once but the
    /// Ready is persisted only at the replica's next flush, so a crash in between loses what its
    /// messages vouched for (acknowledged entries, promised views).
    /// </summary>
    public bool AckBeforePersist { get; init; }
}

/// <summary>
/// A deterministic, single-threaded cluster: real <see cref="Replica"/> cores with in-memory
/// storage, a simulated network, client sessions, and the safety checker run after every step.
/// Tests drive it tick by tick; the simulator drives it with random faults.
/// </summary>
public sealed class Cluster
{
    private readonly ClusterOptions options;
    private readonly Replica?[] replicas;
    private readonly IService[] services;
    private readonly MemoryStorage[] storages;
    private readonly Dictionary<ClientId, SimulatedClient> clients = [];
    private readonly List<SimulatedClient> clientList = [];
    private readonly List<SimulatedClient> liveClients = [];
    private readonly Ready?[] unpersisted;
    private readonly List<Envelope> outbox = [];
    private readonly bool[] stepped;
    private readonly Prng prng;
    private ulong incarnations;

    /// <summary>Builds and starts the cluster: every replica normal in view 0.</summary>
    public Cluster(ClusterOptions options)
    {
        this.options = options;
        prng = new Prng(options.Seed);
        Network = new SimulatedNetwork(new Prng(options.Seed ^ 0x5EEDUL)) { Options = options.Network };
        Checker = new ClusterChecker(options.ReplicaCount);
        replicas = new Replica?[options.ReplicaCount];
        services = new IService[options.ReplicaCount];
        storages = new MemoryStorage[options.ReplicaCount];
        unpersisted = new Ready?[options.ReplicaCount];
        stepped = new bool[options.ReplicaCount];
        for (var i = 0; i < options.ReplicaCount; i++)
        {
            storages[i] = new MemoryStorage();
            Start(i, durable: null);
        }
    }

    /// <summary>The simulated network.</summary>
    public SimulatedNetwork Network { get; }

    /// <summary>The safety checker.</summary>
    public ClusterChecker Checker { get; }

    /// <summary>The current tick.</summary>
    public ulong Now { get; private set; }

    /// <summary>The number of replicas.</summary>
    public int ReplicaCount => options.ReplicaCount;

    /// <summary>The clients created so far, crashed ones included.</summary>
    public IReadOnlyList<SimulatedClient> Clients => clientList;

    /// <summary>The options the cluster was built with.</summary>
    public ClusterOptions Options => options;

    /// <summary>Called after every step, tick and start of a replica, once the checker has seen it.</summary>
    public Action<Replica>? ReplicaObserved { get; set; }

    /// <summary>The number of replicas that are crashed or still recovering: unavailable to the protocol.</summary>
    public int Unavailable
    {
        get
        {
            var count = 0;
            foreach (var replica in replicas)
            {
                if (replica is null || replica.Status == ReplicaStatus.Recovering)
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <summary>Replica <paramref name="index"/>; throws when it is crashed.</summary>
    public Replica Replica(int index) => replicas[index] ?? throw new InvalidOperationException($"replica {index} is down");

    /// <summary>The service of replica <paramref name="index"/>.</summary>
    public IService Service(int index) => services[index];

    /// <summary>The storage of replica <paramref name="index"/>.</summary>
    public MemoryStorage Storage(int index) => storages[index];

    /// <summary>True when replica <paramref name="index"/> runs.</summary>
    public bool IsUp(int index) => replicas[index] is not null;

    /// <summary>The running replicas.</summary>
    public IEnumerable<Replica> Running => replicas.OfType<Replica>();

    /// <summary>The replica that is normal and primary in the highest view, if any.</summary>
    public Replica? Primary
    {
        get
        {
            Replica? primary = null;
            foreach (var replica in replicas)
            {
                if (replica is { Status: ReplicaStatus.Normal, IsPrimary: true } && (primary is null || replica.View > primary.View))
                {
                    primary = replica;
                }
            }

            return primary;
        }
    }

    /// <summary>Creates a client session and starts its registration.</summary>
    public SimulatedClient AddClient()
    {
        var session = new ClientSession(options.ClusterId, options.ReplicaCount, new ClientId(prng.NextUInt128()), options.ClientTimeoutTicks);
        var client = new SimulatedClient(session) { CreatedAt = Now };
        clients[session.Id] = client;
        clientList.Add(client);
        liveClients.Add(client);
        session.Register();
        FlushClient(client);
        return client;
    }

    /// <summary>Submits an operation for <paramref name="client"/>.</summary>
    public ulong Submit(SimulatedClient client, byte[] operation)
    {
        var number = client.Submit(operation, Now);
        FlushClient(client);
        return number;
    }

    /// <summary>
    /// Crashes a client process: it stops ticking and its replies are lost. A restarted client is a
    /// new session (<see cref="AddClient"/>); the crashed one's request in flight may or may not execute.
    /// </summary>
    public void CrashClient(SimulatedClient client)
    {
        if (!client.IsUp)
        {
            return;
        }

        client.IsUp = false;
        liveClients.Remove(client);
        Network.DropAllTo(NodeAddress.Of(client.Session.Id));
    }

    /// <summary>Sends a raw message to a replica as if from a client, bypassing any session.</summary>
    public void SendFromClient(ClientId client, int replica, Message message) =>
        Network.Send(NodeAddress.Of(client), NodeAddress.Of(new ReplicaIndex((byte)replica)), message, Now);

    /// <summary>Advances time one tick: every replica and client ticks, then due messages are delivered.</summary>
    public void Tick()
    {
        Now++;
        for (var i = 0; i < replicas.Length; i++)
        {
            if (replicas[i] is { } replica)
            {
                replica.Tick();
                Flush(i);
            }
        }

        foreach (var client in liveClients)
        {
            client.Session.Tick();
            FlushClient(client);
        }

        DeliverDue();
    }

    /// <summary>Runs <paramref name="ticks"/> ticks.</summary>
    public void RunTicks(int ticks)
    {
        for (var i = 0; i < ticks; i++)
        {
            Tick();
        }
    }

    /// <summary>Ticks until <paramref name="condition"/> holds; false when <paramref name="ticksMax"/> ran out first.</summary>
    public bool RunUntil(Func<bool> condition, int ticksMax)
    {
        for (var i = 0; i < ticksMax; i++)
        {
            if (condition())
            {
                return true;
            }

            Tick();
        }

        return condition();
    }

    /// <summary>Crashes replica <paramref name="index"/>: volatile state and messages to it are lost; its storage stays.</summary>
    public void Crash(int index)
    {
        Invariant.That(replicas[index] is not null, "crash a running replica");
        replicas[index] = null;
        unpersisted[index] = null;
        Network.DropAllTo(NodeAddress.Of(new ReplicaIndex((byte)index)));
    }

    /// <summary>Restarts a crashed replica from what its storage holds.</summary>
    public void Restart(int index)
    {
        Invariant.That(replicas[index] is null, "restart a crashed replica");
        Checker.Restarting(index);
        Start(index, storages[index].Load());
    }

    private void Start(int index, DurableState? durable)
    {
        var replicaOptions = options.ConfigureReplica(new ReplicaOptions
        {
            Cluster = options.ClusterId,
            ReplicaCount = options.ReplicaCount,
            Replica = new ReplicaIndex((byte)index),
            Seed = options.Seed * 1000 + (ulong)index + (++incarnations << 32),
        });
        services[index] = options.ServiceFactory();
        replicas[index] = new Replica(replicaOptions, services[index], durable);
        Flush(index);
    }

    /// <summary>
    /// Delivers every message due now. A replica steps through each of its messages (checked after
    /// every step) and takes one Ready once all are in, as the runtime's driver loop does with a
    /// batch from its inbox: the Prepares of the requests that arrived together leave as one, and the
    /// PrepareOks of one batch as one.
    /// </summary>
    private void DeliverDue()
    {
        while (Network.TryReceive(Now, out var packet))
        {
            if (packet.To.IsClient)
            {
                DeliverToClient(packet);
            }
            else if (replicas[packet.To.Replica.Value] is { } replica)
            {
                var index = packet.To.Replica.Value;
                replica.Step(packet.Message);
                Observe(index);
                stepped[index] = true;
            }
        }

        for (var i = 0; i < replicas.Length; i++)
        {
            if (stepped[i])
            {
                stepped[i] = false;
                Flush(i, observed: true);
            }
        }
    }

    private void DeliverToClient(in Packet packet)
    {
        if (clients.TryGetValue(packet.To.Client, out var client) && client.IsUp && packet.Message is Reply reply)
        {
            client.OnReply(reply, Now);
            FlushClient(client);
        }
    }

    /// <summary>Persists a replica's Ready, then sends its messages: the durability contract.</summary>
    private void Flush(int index, bool observed = false)
    {
        var replica = replicas[index]!;
        if (!observed)
        {
            Observe(index);
        }

        if (unpersisted[index] is { } late)
        {
            // AckBeforePersist: the previous Ready reaches the disk only now, and only now is it handled.
            storages[index].Persist(late);
            unpersisted[index] = null;
            replica.Recycle(late);
        }

        if (!replica.HasReady)
        {
            return;
        }

        var ready = replica.TakeReady();
        if (options.AckBeforePersist)
        {
            unpersisted[index] = ready;
        }
        else
        {
            storages[index].Persist(ready);
        }

        var from = NodeAddress.Of(replica.Index);
        foreach (var envelope in ready.Messages)
        {
            Network.Send(from, NodeAddress.Of(envelope.To), envelope.Message, Now);
        }

        foreach (var reply in ready.Replies)
        {
            Network.Send(from, NodeAddress.Of(reply.Client), reply, Now);
        }

        if (!options.AckBeforePersist)
        {
            // Persisted and sent: nothing refers to the Ready any more, so the replica may reuse it.
            replica.Recycle(ready);
        }
    }

    /// <summary>Runs the checker on replica <paramref name="index"/>'s state, then <see cref="ReplicaObserved"/>.</summary>
    private void Observe(int index)
    {
        var replica = replicas[index]!;
        Checker.Observe(replica, services[index]);
        ReplicaObserved?.Invoke(replica);
    }

    private void FlushClient(SimulatedClient client)
    {
        if (!client.Session.HasOutbox)
        {
            return;
        }

        var from = NodeAddress.Of(client.Session.Id);
        client.Session.TakeOutbox(outbox);
        foreach (var envelope in outbox)
        {
            Network.Send(from, NodeAddress.Of(envelope.To), envelope.Message, Now);
        }

        outbox.Clear();
    }
}
