using Viewstamped.Messages;

namespace Viewstamped.Simulation;

/// <summary>An address on the simulated network: a replica or a client.</summary>
public readonly record struct NodeAddress(bool IsClient, ReplicaIndex Replica, ClientId Client)
{
    /// <summary>The address of a replica.</summary>
    public static NodeAddress Of(ReplicaIndex replica) => new(false, replica, default);

    /// <summary>The address of a client.</summary>
    public static NodeAddress Of(ClientId client) => new(true, ReplicaIndex.None, client);

    /// <inheritdoc />
    public override string ToString() => IsClient ? $"c{Client.Value % 10000}" : $"r{Replica.Value}";
}

/// <summary>A message on its way, with the tick it arrives at; a value, so queueing one allocates nothing.</summary>
public readonly record struct Packet(NodeAddress From, NodeAddress To, Message Message, ulong DeliverAt, ulong Sequence);

/// <summary>Fault settings of the simulated network; all probabilities are per message.</summary>
public sealed record NetworkOptions
{
    /// <summary>Minimum delivery delay in ticks (at least 1).</summary>
    public int DelayMin { get; init; } = 1;

    /// <summary>Maximum delivery delay in ticks; a spread above the minimum reorders messages.</summary>
    public int DelayMax { get; init; } = 1;

    /// <summary>Probability that a message is lost.</summary>
    public double Drop { get; init; }

    /// <summary>Probability that a message is delivered twice.</summary>
    public double Duplicate { get; init; }

    /// <summary>Probability that a message takes the long tail: up to <see cref="TailTicks"/> extra ticks.</summary>
    public double TailChance { get; init; }

    /// <summary>The most extra ticks a message on the long tail waits.</summary>
    public int TailTicks { get; init; }
}

/// <summary>
/// The simulated network: every message waits until its delivery tick. Loss, delay (per path),
/// duplication, reordering, one-way cuts and clogged paths come from the options and the run's seeded
/// generator; tests can also drop chosen messages with <see cref="Filter"/>. Messages due at the same
/// tick are delivered in the order they were sent.
/// </summary>
public sealed class SimulatedNetwork
{
    /// <summary>No delay is longer than this many ticks.</summary>
    public const int DelayLimit = 1 << 20;

    private const int WheelSize = 1 << 10;
    private const int WheelMask = WheelSize - 1;
    private const int ReplicaSlots = 64;

    private readonly Prng prng;
    private readonly List<Packet>[] wheel = new List<Packet>[WheelSize];
    private readonly PriorityQueue<Packet, (ulong, ulong)> overflow = new();
    private readonly HashSet<(NodeAddress, NodeAddress)> cutLinks = [];
    private readonly bool[] replicaCuts = new bool[ReplicaSlots * ReplicaSlots];
    private readonly PathState[] paths = new PathState[ReplicaSlots * ReplicaSlots];
    private ulong sequence;
    private ulong cursor;
    private int cursorIndex;
    private int clientCuts;
    private int clogged;
    private int inFlight;

    /// <summary>Creates a network that draws every random choice from <paramref name="prng"/>.</summary>
    public SimulatedNetwork(Prng prng)
    {
        this.prng = prng;
        for (var i = 0; i < WheelSize; i++)
        {
            wheel[i] = [];
        }
    }

    /// <summary>The fault settings in force on every path without its own delay.</summary>
    public NetworkOptions Options { get; set; } = new();

    /// <summary>When set, a message for which it returns false is dropped.</summary>
    public Func<Packet, bool>? Filter { get; set; }

    /// <summary>Messages sent so far.</summary>
    public long Sent { get; private set; }

    /// <summary>Messages dropped so far (loss, partitions, filters, crashed receivers).</summary>
    public long Dropped { get; private set; }

    /// <summary>Messages duplicated so far.</summary>
    public long Duplicated { get; private set; }

    /// <summary>Messages waiting for delivery.</summary>
    public int InFlight => inFlight;

    /// <summary>True when any link is cut.</summary>
    public bool IsPartitioned => cutLinks.Count > 0;

    /// <summary>Queues a message sent at <paramref name="now"/>.</summary>
    public void Send(NodeAddress from, NodeAddress to, Message message, ulong now)
    {
        Sent++;
        var replicaPath = !from.IsClient && !to.IsClient ? Path(from.Replica.Value, to.Replica.Value) : -1;
        var cut = replicaPath >= 0 ? replicaCuts[replicaPath] : clientCuts > 0 && cutLinks.Contains((from, to));
        if (cut || prng.Chance(Options.Drop))
        {
            Dropped++;
            return;
        }

        var packet = new Packet(from, to, message, now + Delay(replicaPath, now), sequence++);
        if (Filter is not null && !Filter(packet))
        {
            Dropped++;
            return;
        }

        Enqueue(packet);
        if (prng.Chance(Options.Duplicate))
        {
            Duplicated++;
            Enqueue(packet with { DeliverAt = now + Delay(replicaPath, now), Sequence = sequence++ });
        }
    }

    /// <summary>Takes the next message due at or before <paramref name="now"/>, if any.</summary>
    public bool TryReceive(ulong now, out Packet packet)
    {
        while (cursor <= now)
        {
            var bucket = wheel[(int)(cursor & WheelMask)];
            if (cursorIndex < bucket.Count)
            {
                packet = bucket[cursorIndex];
                bucket[cursorIndex++] = default;
                inFlight--;
                return true;
            }

            bucket.Clear();
            cursorIndex = 0;
            if (inFlight == 0 && cursor < now)
            {
                // Nothing is on its way: jump straight to now.
                cursor = now;
                continue;
            }

            cursor++;
            MigrateOverflow();
        }

        packet = default;
        return false;
    }

    /// <summary>Sets the delay of the path from replica <paramref name="from"/> to replica <paramref name="to"/>.</summary>
    public void SetPathDelay(ReplicaIndex from, ReplicaIndex to, int delayMin, int delayMax)
    {
        ref var path = ref paths[Path(from.Value, to.Value)];
        path.DelayMin = Math.Max(1, delayMin);
        path.DelayMax = Math.Max(path.DelayMin, delayMax);
    }

    /// <summary>Clears every per-path delay: every path follows <see cref="Options"/> again.</summary>
    public void ClearPathDelays()
    {
        for (var i = 0; i < paths.Length; i++)
        {
            paths[i].DelayMin = 0;
            paths[i].DelayMax = 0;
        }
    }

    /// <summary>
    /// Clogs the path from replica <paramref name="from"/> to replica <paramref name="to"/> until tick
    /// <paramref name="until"/>: every message sent on it meanwhile waits <paramref name="extraDelay"/> more ticks.
    /// </summary>
    public void Clog(ReplicaIndex from, ReplicaIndex to, ulong until, int extraDelay)
    {
        ref var path = ref paths[Path(from.Value, to.Value)];
        if (path.ClogUntil == 0)
        {
            clogged++;
        }

        path.ClogUntil = until;
        path.ClogDelay = Math.Clamp(extraDelay, 0, DelayLimit / 2);
    }

    /// <summary>True when the path from <paramref name="from"/> to <paramref name="to"/> is clogged at <paramref name="now"/>.</summary>
    public bool IsClogged(ReplicaIndex from, ReplicaIndex to, ulong now) => paths[Path(from.Value, to.Value)].ClogUntil > now;

    /// <summary>Unclogs every path.</summary>
    public void Unclog()
    {
        for (var i = 0; i < paths.Length; i++)
        {
            paths[i].ClogUntil = 0;
            paths[i].ClogDelay = 0;
        }

        clogged = 0;
    }

    /// <summary>Stops messages from <paramref name="from"/> to <paramref name="to"/> (one way).</summary>
    public void Cut(NodeAddress from, NodeAddress to)
    {
        if (!cutLinks.Add((from, to)))
        {
            return;
        }

        if (!from.IsClient && !to.IsClient)
        {
            replicaCuts[Path(from.Replica.Value, to.Replica.Value)] = true;
        }
        else
        {
            clientCuts++;
        }
    }

    /// <summary>Cuts both directions between two nodes.</summary>
    public void CutBoth(NodeAddress a, NodeAddress b)
    {
        Cut(a, b);
        Cut(b, a);
    }

    /// <summary>Heals every cut link.</summary>
    public void HealAll()
    {
        cutLinks.Clear();
        Array.Clear(replicaCuts);
        clientCuts = 0;
    }

    /// <summary>True when messages from <paramref name="from"/> to <paramref name="to"/> are cut.</summary>
    public bool IsCut(NodeAddress from, NodeAddress to) => cutLinks.Contains((from, to));

    /// <summary>Drops every message in flight to <paramref name="to"/> (its process crashed).</summary>
    public void DropAllTo(NodeAddress to) => DropWhere(packet => packet.To == to);

    /// <summary>Drops every message in flight for which <paramref name="predicate"/> holds.</summary>
    public void DropWhere(Func<Packet, bool> predicate)
    {
        foreach (var bucket in wheel)
        {
            var start = ReferenceEquals(bucket, wheel[(int)(cursor & WheelMask)]) ? cursorIndex : 0;
            for (var i = start; i < bucket.Count; i++)
            {
                if (predicate(bucket[i]))
                {
                    bucket.RemoveAt(i--);
                    inFlight--;
                    Dropped++;
                }
            }
        }

        if (overflow.Count > 0)
        {
            var kept = new List<Packet>();
            while (overflow.TryDequeue(out var packet, out _))
            {
                if (predicate(packet))
                {
                    inFlight--;
                    Dropped++;
                }
                else
                {
                    kept.Add(packet);
                }
            }

            foreach (var packet in kept)
            {
                overflow.Enqueue(packet, (packet.DeliverAt, packet.Sequence));
            }
        }
    }

    private static int Path(int from, int to) => (from * ReplicaSlots) + to;

    private void Enqueue(Packet packet)
    {
        inFlight++;
        if (packet.DeliverAt < cursor + WheelSize)
        {
            wheel[(int)(packet.DeliverAt & WheelMask)].Add(packet);
        }
        else
        {
            overflow.Enqueue(packet, (packet.DeliverAt, packet.Sequence));
        }
    }

    /// <summary>Moves packets that now fit in the wheel out of the overflow queue, in delivery order.</summary>
    private void MigrateOverflow()
    {
        while (overflow.TryPeek(out var packet, out var priority) && priority.Item1 < cursor + WheelSize)
        {
            overflow.Dequeue();
            wheel[(int)(packet.DeliverAt & WheelMask)].Add(packet);
        }
    }

    private ulong Delay(int replicaPath, ulong now)
    {
        int min = Options.DelayMin, max = Options.DelayMax, extra = 0;
        if (replicaPath >= 0)
        {
            ref var path = ref paths[replicaPath];
            if (path.DelayMin > 0)
            {
                (min, max) = (path.DelayMin, path.DelayMax);
            }

            if (clogged > 0 && path.ClogUntil > now)
            {
                extra = path.ClogDelay;
            }
        }

        min = Math.Max(1, min);
        var delay = max > min ? prng.Between(min, max) : min;
        if (Options.TailChance > 0 && Options.TailTicks > 0 && prng.Chance(Options.TailChance))
        {
            delay += prng.Between(1, Options.TailTicks);
        }

        return (ulong)Math.Min(delay + extra, DelayLimit);
    }

    private struct PathState
    {
        public int DelayMin;
        public int DelayMax;
        public ulong ClogUntil;
        public int ClogDelay;
    }
}
