using System.Diagnostics.CodeAnalysis;
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

    /// <summary>
    /// The disk faults of every replica's storage; null (the default) keeps each replica's state in a
    /// <see cref="MemoryStorage"/> where every write is durable at once. When set, each replica gets a
    /// <see cref="SimulatedDisk"/> with a random stream of its own derived from <see cref="Seed"/>; a Ready's
    /// messages and replies leave only when the sync that covers it completes (after its drawn latency),
    /// and a crash is a power loss: the batch being synced lands partially, later writes are lost.
    /// </summary>
    public DiskFaults? Disk { get; init; }

    /// <summary>
    /// Makes replica <c>i</c>'s storage when <see cref="Disk"/> is not set, instead of a
    /// <see cref="MemoryStorage"/>: for running the cluster over real storage (the runtime's file storage)
    /// in tests. Its <see cref="IReplicaStorage.Persist"/> must be durable on return.
    /// </summary>
    public Func<int, IReplicaStorage>? Storage { get; init; }

    /// <summary>
    /// The most ticks a checkpoint handed out to be written beside the loop (<see cref="Ready.Snapshot"/>,
    /// from an <see cref="ISnapshottingService"/>) takes to be written; each takes a number of ticks drawn
    /// from 0 to this, from a random stream of its own. Default 0: written at the start of the next tick.
    /// A replica may crash, change view or install a peer's checkpoint meanwhile.
    /// </summary>
    public int CheckpointWriteTicksMax { get; init; }

    /// <summary>A planted bug of every replica's simulated disk, for checker tests only.</summary>
    internal DiskBug DiskBug { get; init; }
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
    private readonly IReplicaStorage[] storages;
    private readonly SimulatedDisk?[] disks;
    private readonly List<Outgoing>[] awaitingSync;
    private readonly List<Outgoing>[] awaitingNextSync;
    private readonly ulong[] syncDue;

    /// <summary>Per replica: its newest synced batch had no durable summary when it crashed, so a load may cut it as torn (an uncertain tail).</summary>
    private readonly bool[] crashedUnvouched;
    private readonly Dictionary<ClientId, SimulatedClient> clients = [];
    private readonly List<SimulatedClient> clientList = [];
    private readonly List<SimulatedClient> liveClients = [];
    private readonly Ready?[] unpersisted;
    private readonly List<Envelope> outbox = [];
    private readonly bool[] stepped;
    private readonly Prng prng;
    private readonly Prng? latentCorruption;
    private readonly Prng checkpointWrites;
    private readonly CheckpointSnapshot?[] snapshotsInFlight;
    private readonly ulong[] snapshotDue;
    private readonly ulong[] checkpointHeld;
    private ulong incarnations;
    private long entriesRepairedBefore;

    /// <summary>Builds and starts the cluster: every replica normal in view 0.</summary>
    public Cluster(ClusterOptions options)
    {
        this.options = options;
        prng = new Prng(options.Seed);
        if (options.Disk is { LatentCorruptionProbability: > 0, LatentCorruptionsMax: > 0 })
        {
            // A stream of its own, so enabling latent corruption changes no other random choice.
            latentCorruption = new Prng(options.Seed ^ 0x1A7E_0000_C022_0000UL);
        }

        // A stream of its own, so how long checkpoints take to write changes no other random choice.
        checkpointWrites = new Prng(options.Seed ^ 0xC4EC_0000_0000_0017UL);
        Network = new SimulatedNetwork(new Prng(options.Seed ^ 0x5EEDUL)) { Options = options.Network };
        Checker = new ClusterChecker(options.ReplicaCount);
        replicas = new Replica?[options.ReplicaCount];
        services = new IService[options.ReplicaCount];
        storages = new IReplicaStorage[options.ReplicaCount];
        disks = new SimulatedDisk?[options.ReplicaCount];
        awaitingSync = new List<Outgoing>[options.ReplicaCount];
        awaitingNextSync = new List<Outgoing>[options.ReplicaCount];
        syncDue = new ulong[options.ReplicaCount];
        crashedUnvouched = new bool[options.ReplicaCount];
        unpersisted = new Ready?[options.ReplicaCount];
        stepped = new bool[options.ReplicaCount];
        snapshotsInFlight = new CheckpointSnapshot?[options.ReplicaCount];
        snapshotDue = new ulong[options.ReplicaCount];
        checkpointHeld = new ulong[options.ReplicaCount];
        for (var i = 0; i < options.ReplicaCount; i++)
        {
            if (options.Disk is { } faults)
            {
                // A stream per disk, apart from the network's and the replicas', so turning disks on
                // changes no other random choice.
                // Latent corruption is injected by the cluster (MaybeCorrupt), which keeps it within the budget.
                disks[i] = new SimulatedDisk(new Prng(options.Seed ^ 0xD15C_0000_0000_0000UL ^ ((ulong)i << 40)), faults) { Bug = options.DiskBug };
                storages[i] = disks[i]!;
                awaitingSync[i] = [];
                awaitingNextSync[i] = [];
            }
            else
            {
                storages[i] = options.Storage?.Invoke(i) ?? new MemoryStorage();
            }

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

    /// <summary>The storage of replica <paramref name="index"/>: a <see cref="MemoryStorage"/>, or its <see cref="SimulatedDisk"/>.</summary>
    public IReplicaStorage Storage(int index) => storages[index];

    /// <summary>The simulated disk of replica <paramref name="index"/>; null unless <see cref="ClusterOptions.Disk"/> is set.</summary>
    public SimulatedDisk? Disk(int index) => disks[index];

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

    /// <summary>
    /// How much likelier than after a sync latent corruption is at a power loss that finds the newest batch
    /// synced but not yet summarized: the blocks written just before power failed are the likeliest to come
    /// back bad, and this is the one window where rot reads as a torn write (an uncertain tail), so the
    /// simulator visits it often enough for a sweep to reach the view change that must handle it.
    /// </summary>
    private const double TailRotFactor = 10;

    /// <summary>Sends a raw message to a replica as if from a client, bypassing any session.</summary>
    public void SendFromClient(ClientId client, int replica, Message message) =>
        Network.Send(NodeAddress.Of(client), NodeAddress.Of(new ReplicaIndex((byte)replica)), message, Now);

    /// <summary>Advances time one tick: every replica and client ticks, then due messages are delivered.</summary>
    public void Tick()
    {
        Now++;
        for (var i = 0; i < replicas.Length; i++)
        {
            if (disks[i] is { HasUnsyncedWrites: false, HasUnsyncedSummary: true } idle)
            {
                // Nothing was written since the last sync completed: the log is idle, and its batch ring is synced.
                idle.SyncSummaries();
                MaybeCorrupt(i, newestBatch: true);
            }

            if (syncDue[i] != 0 && Now >= syncDue[i])
            {
                CompleteSync(i);
            }

            if (snapshotsInFlight[i] is not null && Now >= snapshotDue[i])
            {
                CompleteCheckpointWrite(i);
            }
        }

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

    /// <summary>
    /// Crashes replica <paramref name="index"/>: volatile state and messages to it are lost; its storage
    /// stays. With simulated disks the crash is a power loss: what was not synced is lost or torn, and
    /// the messages waiting for that sync never leave.
    /// </summary>
    public void Crash(int index)
    {
        Stop(index);
        if (disks[index] is { } disk)
        {
            crashedUnvouched[index] = disk.HasUnsyncedSummary;
            if (disk.HasUnsyncedSummary)
            {
                // The newest batch was synced (and perhaps acknowledged) but its summary is not durable yet:
                // rot that hit it before this power loss reads as a torn write at the next load. That is the
                // window storage.md describes; the load reports an uncertain tail, and the view change must not
                // count on this replica for ops past its head.
                MaybeCorrupt(index, newestBatch: true, TailRotFactor);
            }

            if (disk.Faults.LostNewestBatches)
            {
                MaybeLoseNewestBatch(index);
            }

            disk.Crash();
            ForgetSyncs(index);
        }
    }

    /// <summary>
    /// Crashes replica <paramref name="index"/>'s process while its machine runs on: like <see cref="Crash"/>, but
    /// a simulated disk keeps its page cache (<see cref="SimulatedDisk.CrashProcess"/>): the batch being synced
    /// lands whole, its messages never leave, and nothing it made durable can be lost or doubted.
    /// </summary>
    public void CrashProcess(int index)
    {
        Stop(index);
        if (disks[index] is { } disk)
        {
            crashedUnvouched[index] = false;
            disk.CrashProcess();
            ForgetSyncs(index);
        }
    }

    private void Stop(int index)
    {
        Invariant.That(replicas[index] is not null, "crash a running replica");
        entriesRepairedBefore += replicas[index]!.EntriesRepaired;
        replicas[index] = null;
        unpersisted[index] = null;
        snapshotsInFlight[index] = null; // its writer dies with it; the checkpoint never becomes current
        Network.DropAllTo(NodeAddress.Of(new ReplicaIndex((byte)index)));
    }

    private void ForgetSyncs(int index)
    {
        awaitingSync[index].Clear();
        awaitingNextSync[index].Clear();
        syncDue[index] = 0;
    }

    /// <summary>Log entries replicas fetched from peers after their disks lost them (per-entry repair), over every incarnation.</summary>
    public long EntriesRepaired => entriesRepairedBefore + replicas.Sum(replica => replica?.EntriesRepaired ?? 0);

    /// <summary>Restarts a crashed replica from what its storage holds.</summary>
    public void Restart(int index)
    {
        Invariant.That(replicas[index] is null, "restart a crashed replica");
        var synced = disks[index]?.SyncedLog();
        var beforeNewestBatch = crashedUnvouched[index] ? disks[index]!.SyncedLogBeforeNewestBatch() : null;
        var durable = storages[index].Load();
        if (synced is not null)
        {
            Checker.ReadBack(index, synced, durable, beforeNewestBatch);
        }

        Checker.Restarting(index, disks[index] is null ? null : durable);
        Start(index, durable);
    }

    /// <summary>
    /// Restarts a crashed replica from <paramref name="storage"/>, which replaces its storage from now
    /// on: the same data reopened (and scanned again), possibly damaged in between. Not with <see cref="ClusterOptions.Disk"/>.
    /// </summary>
    public void Restart(int index, IReplicaStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        Invariant.That(disks[index] is null, "a replica on a simulated disk restarts from that disk");
        storages[index] = storage;
        Restart(index);
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
        // Storage that writes checkpoints itself (the runtime's file storage in tests) gets them as the runtime's host gives them.
        replicas[index] = new Replica(replicaOptions, services[index], durable, storages[index] as ICheckpointSink);
        checkpointHeld[index] = durable?.Checkpoint?.Op.Value ?? 0;
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
        CheckCompaction(index, ready);
        if (ready.Snapshot is { } snapshot)
        {
            Invariant.That(snapshotsInFlight[index] is null, "one checkpoint in flight per replica");
            snapshotsInFlight[index] = snapshot;
            snapshotDue[index] = Now + checkpointWrites.Below((ulong)options.CheckpointWriteTicksMax + 1);
        }

        if (disks[index] is not null)
        {
            WriteToDisk(index, ready);

            // The disk copied what it persists, and the messages were sent or copied out to wait for
            // the sync: nothing refers to the Ready any more, even while its sync is in progress.
            replica.Recycle(ready);
            return;
        }

        if (options.AckBeforePersist)
        {
            unpersisted[index] = ready;
        }
        else
        {
            storages[index].Persist(ready);
        }

        Send(NodeAddress.Of(replica.Index), ready);
        if (!options.AckBeforePersist)
        {
            // Persisted and sent: nothing refers to the Ready any more, so the replica may reuse it.
            replica.Recycle(ready);
        }
    }

    /// <summary>
    /// The durability contract of compaction: a Ready drops log entries only before a checkpoint that it, or
    /// an earlier Ready, makes durable; otherwise a crash leaves a disk that cannot rebuild the ops between.
    /// </summary>
    private void CheckCompaction(int index, Ready ready)
    {
        if (ready.Checkpoint is { } checkpoint)
        {
            checkpointHeld[index] = Math.Max(checkpointHeld[index], checkpoint.Op.Value);
        }

        if (ready.CompactBefore is { } compactBefore && compactBefore.Value > checkpointHeld[index] + 1)
        {
            throw new SafetyViolationException($"r{index} compacts its log before op {compactBefore}, past its latest checkpoint handed to storage (op {checkpointHeld[index]})");
        }
    }

    /// <summary>The checkpoint replica <paramref name="index"/> handed out is written now (its drawn delay is over): it hands it back.</summary>
    private void CompleteCheckpointWrite(int index)
    {
        var snapshot = snapshotsInFlight[index]!;
        snapshotsInFlight[index] = null;
        replicas[index]!.CheckpointWritten(snapshot.Write());
        Flush(index);
    }

    /// <summary>
    /// Hands a Ready to the replica's simulated disk and holds its messages until the sync that covers
    /// it completes. Nothing here keeps <paramref name="ready"/> itself (the disk copies its persistence
    /// part, the messages are copied out), so <see cref="Flush"/> recycles it at once: a pooled Ready
    /// must never wait here for a later sync.
    /// </summary>
    private void WriteToDisk(int index, Ready ready)
    {
        var disk = disks[index]!;
        var from = NodeAddress.Of(new ReplicaIndex((byte)index));
        var persists = ready.HardState is not null || ready.LogChanges.Count > 0 || ready.Checkpoint is not null || ready.CompactBefore is not null;
        if (!persists && !disk.HasUnsyncedWrites)
        {
            // Nothing to make durable and nothing earlier waiting: these messages vouch for nothing new.
            Send(from, ready);
            return;
        }

        disk.Write(ready);
        if (options.AckBeforePersist)
        {
            // The planted bug: the messages vouch for a write that is not durable yet.
            Send(from, ready);
        }
        else
        {
            var waiting = awaitingNextSync[index];
            foreach (var envelope in ready.Messages)
            {
                waiting.Add(new Outgoing(NodeAddress.Of(envelope.To), envelope.Message));
            }

            foreach (var reply in ready.Replies)
            {
                waiting.Add(new Outgoing(NodeAddress.Of(reply.Client), reply));
            }
        }

        if (!disk.SyncInProgress)
        {
            BeginSync(index);
        }
    }

    private void Send(NodeAddress from, Ready ready)
    {
        foreach (var envelope in ready.Messages)
        {
            SendFromReplica(from, NodeAddress.Of(envelope.To), envelope.Message);
        }

        foreach (var reply in ready.Replies)
        {
            SendFromReplica(from, NodeAddress.Of(reply.Client), reply);
        }
    }

    /// <summary>Every message a replica sends goes through here, so the checker learns which views it promised.</summary>
    private void SendFromReplica(NodeAddress from, NodeAddress to, Message message)
    {
        Checker.Sent(from.Replica.Value, message);
        Network.Send(from, to, message, Now);
    }

    /// <summary>Sends what was written since the last sync to the device; a sync without latency completes at once.</summary>
    private void BeginSync(int index)
    {
        var ticks = disks[index]!.BeginSync();
        (awaitingSync[index], awaitingNextSync[index]) = (awaitingNextSync[index], awaitingSync[index]);
        if (ticks == 0)
        {
            CompleteSync(index);
        }
        else
        {
            syncDue[index] = Now + (ulong)ticks;
        }
    }

    /// <summary>The sync is done: its Readies are durable, so their messages leave; what was written meanwhile starts the next sync.</summary>
    private void CompleteSync(int index)
    {
        var disk = disks[index]!;
        disk.CompleteSync();
        syncDue[index] = 0;
        MaybeCorrupt(index);
        var from = NodeAddress.Of(new ReplicaIndex((byte)index));
        foreach (var outgoing in awaitingSync[index])
        {
            SendFromReplica(from, outgoing.To, outgoing.Message);
        }

        awaitingSync[index].Clear();
        if (disk.HasUnsyncedWrites)
        {
            BeginSync(index);
        }
    }

    /// <summary>
    /// After a sync, maybe flips a bit of an acknowledged block on replica <paramref name="index"/>'s disk
    /// (<see cref="DiskFaults.LatentCorruptionProbability"/>, at most <see cref="DiskFaults.LatentCorruptionsMax"/>
    /// times per disk), but only while at most f disks are damaged (<see cref="SimulatedDisk.IsDamaged"/>):
    /// the budget that leaves an intact copy of every committed op in the cluster. With <paramref name="newestBatch"/>
    /// (after the batch ring was synced) it hits the newest batch, which only the ring tells from a torn write.
    /// <paramref name="chanceFactor"/> multiplies the probability.
    /// </summary>
    private void MaybeCorrupt(int index, bool newestBatch = false, double chanceFactor = 1)
    {
        var disk = disks[index]!;
        if (MayDamage(index, chanceFactor))
        {
            // One in four hits the checkpoint file the superblock names, when there is one; the rest a log block.
            if (newestBatch)
            {
                disk.InjectLatentCorruption(latentCorruption, newestBatch: true);
            }
            else if (!(latentCorruption.Chance(0.25) && disk.InjectCheckpointCorruption(latentCorruption)))
            {
                disk.InjectLatentCorruption(latentCorruption);
            }
        }
    }

    /// <summary>
    /// At a power loss of replica <paramref name="index"/>, maybe loses its newest synced batch whole (a lost
    /// write, <see cref="SimulatedDisk.LoseNewestBatch"/>), within the same budget as latent corruption. Its
    /// load must then report damage, or an uncertain tail when nothing durable vouched for the batch.
    /// </summary>
    private void MaybeLoseNewestBatch(int index)
    {
        if (MayDamage(index, TailRotFactor))
        {
            disks[index]!.LoseNewestBatch();
        }
    }

    /// <summary>
    /// Draws whether replica <paramref name="index"/>'s disk loses acknowledged data now: never beyond
    /// <see cref="DiskFaults.LatentCorruptionsMax"/> such faults per disk, nor while f other disks are damaged
    /// (<see cref="SimulatedDisk.IsDamaged"/>), which leaves an intact copy of every committed op in the cluster.
    /// </summary>
    [MemberNotNullWhen(true, nameof(latentCorruption))]
    private bool MayDamage(int index, double chanceFactor)
    {
        var faults = options.Disk!;
        var disk = disks[index]!;
        var stats = disk.Statistics;
        if (latentCorruption is null || stats.LatentCorruptions + stats.LostNewestBatches >= faults.LatentCorruptionsMax)
        {
            return false;
        }

        if (!disk.IsDamaged && disks.Count(d => d!.IsDamaged) >= (options.ReplicaCount - 1) / 2)
        {
            return false;
        }

        return latentCorruption.Chance(Math.Min(1, faults.LatentCorruptionProbability * chanceFactor));
    }

    private readonly record struct Outgoing(NodeAddress To, Message Message);

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
