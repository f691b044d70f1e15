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

/// <summary>A message on its way, with the tick it arrives at.</summary>
public sealed record Packet(NodeAddress From, NodeAddress To, Message Message, ulong DeliverAt, ulong Sequence);

/// <summary>Fault settings of the simulated network; all probabilities are per message.</summary>
public sealed record NetworkOptions
{
    /// <summary>Minimum delivery delay in ticks.</summary>
    public int DelayMin { get; init; } = 1;

    /// <summary>Maximum delivery delay in ticks; a spread above the minimum reorders messages.</summary>
    public int DelayMax { get; init; } = 1;

    /// <summary>Probability that a message is lost.</summary>
    public double Drop { get; init; }

    /// <summary>Probability that a message is delivered twice.</summary>
    public double Duplicate { get; init; }
}

/// <summary>
/// The simulated network: every message waits in a queue until its delivery tick. Loss, delay,
/// duplication and partitions come from the options and the run's seeded generator; tests can also
/// drop chosen messages with <see cref="Filter"/>.
/// </summary>
public sealed class SimulatedNetwork(Prng prng)
{
    private readonly PriorityQueue<Packet, (ulong, ulong)> queue = new();
    private readonly HashSet<(NodeAddress, NodeAddress)> cutLinks = [];
    private ulong sequence;

    /// <summary>The fault settings in force.</summary>
    public NetworkOptions Options { get; set; } = new();

    /// <summary>When set, a message for which it returns false is dropped.</summary>
    public Func<Packet, bool>? Filter { get; set; }

    /// <summary>Messages sent so far.</summary>
    public long Sent { get; private set; }

    /// <summary>Messages dropped so far (loss, partitions, filters).</summary>
    public long Dropped { get; private set; }

    /// <summary>Messages waiting for delivery.</summary>
    public int InFlight => queue.Count;

    /// <summary>Queues a message sent at <paramref name="now"/>.</summary>
    public void Send(NodeAddress from, NodeAddress to, Message message, ulong now)
    {
        Sent++;
        var packet = new Packet(from, to, message, now + Delay(), sequence++);
        if (cutLinks.Contains((from, to)) || prng.Chance(Options.Drop) || (Filter is not null && !Filter(packet)))
        {
            Dropped++;
            return;
        }

        queue.Enqueue(packet, (packet.DeliverAt, packet.Sequence));
        if (prng.Chance(Options.Duplicate))
        {
            var copy = packet with { DeliverAt = now + Delay(), Sequence = sequence++ };
            queue.Enqueue(copy, (copy.DeliverAt, copy.Sequence));
        }
    }

    /// <summary>Takes the next message due at or before <paramref name="now"/>, if any.</summary>
    public bool TryReceive(ulong now, out Packet packet)
    {
        if (queue.TryPeek(out var next, out var priority) && priority.Item1 <= now)
        {
            packet = queue.Dequeue();
            return true;
        }

        packet = null!;
        return false;
    }

    /// <summary>Stops messages from <paramref name="from"/> to <paramref name="to"/> (one way).</summary>
    public void Cut(NodeAddress from, NodeAddress to) => cutLinks.Add((from, to));

    /// <summary>Cuts both directions between two nodes.</summary>
    public void CutBoth(NodeAddress a, NodeAddress b)
    {
        Cut(a, b);
        Cut(b, a);
    }

    /// <summary>Heals every cut link.</summary>
    public void HealAll() => cutLinks.Clear();

    /// <summary>True when messages from <paramref name="from"/> to <paramref name="to"/> are cut.</summary>
    public bool IsCut(NodeAddress from, NodeAddress to) => cutLinks.Contains((from, to));

    /// <summary>Drops every message in flight to <paramref name="to"/> (its process crashed).</summary>
    public void DropAllTo(NodeAddress to)
    {
        var kept = new List<Packet>();
        while (queue.TryDequeue(out var packet, out _))
        {
            if (packet.To == to)
            {
                Dropped++;
            }
            else
            {
                kept.Add(packet);
            }
        }

        foreach (var packet in kept)
        {
            queue.Enqueue(packet, (packet.DeliverAt, packet.Sequence));
        }
    }

    private ulong Delay() => (ulong)prng.Between(Options.DelayMin, Math.Max(Options.DelayMin, Options.DelayMax));
}
