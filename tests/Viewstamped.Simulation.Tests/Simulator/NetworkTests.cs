using Viewstamped.Messages;

namespace Viewstamped.Simulation.Tests.Vopr;

public class NetworkTests
{
    private static readonly NodeAddress R0 = NodeAddress.Of(new ReplicaIndex(0));
    private static readonly NodeAddress R1 = NodeAddress.Of(new ReplicaIndex(1));
    private static readonly NodeAddress R2 = NodeAddress.Of(new ReplicaIndex(2));
    private static readonly NodeAddress Client = NodeAddress.Of(new ClientId(77));

    [Fact]
    public void Messages_arrive_after_their_delay_in_send_order()
    {
        var network = new SimulatedNetwork(new Prng(1)) { Options = new NetworkOptions { DelayMin = 3, DelayMax = 3 } };
        for (var i = 0; i < 5; i++)
        {
            network.Send(R0, R1, Message(i), now: 10);
        }

        Assert.Empty(Receive(network, 12));
        Assert.Equal([0, 1, 2, 3, 4], Receive(network, 13).Select(Tag));
        Assert.Equal(0, network.InFlight);
    }

    [Fact]
    public void A_delay_spread_reorders_and_every_delay_stays_in_range()
    {
        var network = new SimulatedNetwork(new Prng(2)) { Options = new NetworkOptions { DelayMin = 1, DelayMax = 20 } };
        for (var i = 0; i < 200; i++)
        {
            network.Send(R0, R1, Message(i), now: 0);
        }

        var packets = Receive(network, 1_000);
        Assert.Equal(200, packets.Count);
        Assert.All(packets, p => Assert.InRange(p.DeliverAt, 1UL, 20UL));
        Assert.NotEqual(Enumerable.Range(0, 200), packets.Select(Tag));
        Assert.Equal(packets.OrderBy(p => p.DeliverAt).ThenBy(p => p.Sequence), packets);
    }

    [Fact]
    public void Each_path_can_have_its_own_delay()
    {
        var network = new SimulatedNetwork(new Prng(3)) { Options = new NetworkOptions { DelayMin = 1, DelayMax = 1 } };
        network.SetPathDelay(new ReplicaIndex(0), new ReplicaIndex(1), 40, 50);
        for (var i = 0; i < 50; i++)
        {
            network.Send(R0, R1, Message(i), now: 0);
            network.Send(R1, R0, Message(i), now: 0);
        }

        var packets = Receive(network, 100);
        Assert.All(packets.Where(p => p.To == R1), p => Assert.InRange(p.DeliverAt, 40UL, 50UL));
        Assert.All(packets.Where(p => p.To == R0), p => Assert.Equal(1UL, p.DeliverAt));
    }

    [Fact]
    public void Loss_and_duplication_follow_their_probabilities()
    {
        var network = new SimulatedNetwork(new Prng(4)) { Options = new NetworkOptions { Drop = 0.25, Duplicate = 0.1 } };
        for (var i = 0; i < 10_000; i++)
        {
            network.Send(R0, R1, Message(i), now: 0);
        }

        var received = Receive(network, 10);
        Assert.InRange(network.Dropped, 2_200, 2_800);
        Assert.InRange(network.Duplicated, 550, 950);
        Assert.Equal(10_000 - network.Dropped + network.Duplicated, received.Count);
    }

    [Fact]
    public void A_one_way_cut_stops_one_direction_until_healed()
    {
        var network = new SimulatedNetwork(new Prng(5));
        network.Cut(R0, R1);
        network.Send(R0, R1, Message(1), now: 0);
        network.Send(R1, R0, Message(2), now: 0);
        network.Send(R0, R2, Message(3), now: 0);
        Assert.True(network.IsCut(R0, R1));
        Assert.False(network.IsCut(R1, R0));
        Assert.Equal([2, 3], Receive(network, 5).Select(Tag).Order());

        network.HealAll();
        network.Send(R0, R1, Message(4), now: 5);
        Assert.Equal([4], Receive(network, 10).Select(Tag));
    }

    [Fact]
    public void Client_links_can_be_cut_too()
    {
        var network = new SimulatedNetwork(new Prng(6));
        network.CutBoth(Client, R0);
        network.Send(Client, R0, Message(1), now: 0);
        network.Send(R0, Client, Message(2), now: 0);
        network.Send(Client, R1, Message(3), now: 0);
        Assert.Equal([3], Receive(network, 5).Select(Tag));
    }

    [Fact]
    public void A_clogged_path_delays_heavily_until_it_clears()
    {
        var network = new SimulatedNetwork(new Prng(7));
        network.Clog(new ReplicaIndex(0), new ReplicaIndex(1), until: 100, extraDelay: 500);
        network.Send(R0, R1, Message(1), now: 10);
        network.Send(R1, R0, Message(2), now: 10);
        network.Send(R0, R1, Message(3), now: 100);

        var packets = Receive(network, 10_000);
        Assert.Equal(511UL, packets.Single(p => Tag(p) == 1).DeliverAt);
        Assert.Equal(11UL, packets.Single(p => Tag(p) == 2).DeliverAt);
        Assert.Equal(101UL, packets.Single(p => Tag(p) == 3).DeliverAt);
    }

    [Fact]
    public void Delays_longer_than_the_wheel_keep_their_order()
    {
        var network = new SimulatedNetwork(new Prng(8)) { Options = new NetworkOptions { DelayMin = 1, DelayMax = 1, TailChance = 0.5, TailTicks = 5_000 } };
        var sent = 0;
        var received = new List<Packet>();
        for (ulong now = 0; now < 3_000; now++)
        {
            network.Send(R0, R1, Message(sent++), now);
            received.AddRange(Receive(network, now));
        }

        received.AddRange(Receive(network, 20_000));
        Assert.Equal(sent + network.Duplicated - network.Dropped, received.Count);
        Assert.Equal(received.OrderBy(p => p.DeliverAt).ThenBy(p => p.Sequence), received);
        Assert.Contains(received, p => p.DeliverAt - (ulong)Tag(p) > 1_024);
    }

    [Fact]
    public void A_crashed_node_loses_what_was_on_its_way()
    {
        var network = new SimulatedNetwork(new Prng(9)) { Options = new NetworkOptions { DelayMin = 5, DelayMax = 5 } };
        network.Send(R0, R1, Message(1), now: 0);
        network.Send(R0, R2, Message(2), now: 0);
        network.DropAllTo(R1);
        Assert.Equal([2], Receive(network, 10).Select(Tag));
    }

    private static Commit Message(int tag) =>
        new(new OpNumber((ulong)tag), OpNumber.Zero) { Header = new MessageHeader(1, 0, default, new ReplicaIndex(0)) };

    private static int Tag(Packet packet) => (int)((Commit)packet.Message).CommitNumber.Value;

    private static List<Packet> Receive(SimulatedNetwork network, ulong now)
    {
        var packets = new List<Packet>();
        while (network.TryReceive(now, out var packet))
        {
            packets.Add(packet);
        }

        return packets;
    }
}
