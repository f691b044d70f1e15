using Viewstamped.Messages;
using static Viewstamped.Tests.Protocol.ReplicaHarness;

namespace Viewstamped.Tests.Protocol;

/// <summary>
/// The view change with uncertain tails (docs/protocol.md, "Uncertain tails"): a replica whose storage cut a
/// tail it could not vouch for still votes, but the new primary counts on it for nothing past its head.
/// Replica 1 is the primary of view 1 in a cluster of three. Op 6 was committed in view 0 by replica 0 and
/// replica 1; replica 1's newest batch, holding it, rotted before its summary was durable and was cut.
/// </summary>
public class UncertainTailTests
{
    private static LogEntry[] Log(int count) => [.. Enumerable.Range(1, count).Select(op => Entry((ulong)op, 0))];

    /// <summary>Replica 1 restarted from a disk holding ops 1 to <paramref name="head"/> of view 0, with or without an uncertain tail, and now in the view change to view 1.</summary>
    private static ReplicaHarness NewPrimary(int head, bool tailUncertain)
    {
        var primary = new ReplicaHarness(1, storage: Restarted(head, tailUncertain));
        primary.Step(new StartViewChange { Header = From(2, 1) });
        Assert.Equal(new View(1), primary.Replica.View);
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);
        primary.Clear();
        return primary;
    }

    private static DoViewChange DoViewChangeFrom(int replica, int head, bool tailUncertain = false) =>
        new(new View(0), new OpNumber((ulong)head), new OpNumber(2), Log(head)) { Header = From(replica, 1), TailUncertain = tailUncertain };

    [Fact]
    public void A_restarted_replica_keeps_its_uncertain_tail_durable_and_says_so_in_its_do_view_change()
    {
        var backup = new ReplicaHarness(2, storage: Restarted(5, tailUncertain: true));
        Assert.True(backup.Storage.HardState.TailUncertain);
        backup.Step(new StartViewChange { Header = From(1, 1) });
        var doViewChange = backup.SentOf<DoViewChange>().Last();
        Assert.True(doViewChange.TailUncertain);
        Assert.Equal(new OpNumber(5), doViewChange.Op);

        // The new primary's StartView is a log from a peer: the tail is certain again, durably.
        backup.Step(new StartView(new OpNumber(6), new OpNumber(6), Log(6)) { Header = From(1, 1) });
        Assert.Equal(ReplicaStatus.Normal, backup.Replica.Status);
        Assert.False(backup.Storage.HardState.TailUncertain);
    }

    [Fact]
    public void An_uncertain_log_in_the_latest_log_view_does_not_count_as_a_nack_and_the_primary_waits()
    {
        var primary = NewPrimary(5, tailUncertain: true);

        // Replica 2 never received op 6. With replica 1's cut log it would make a quorum that drops it.
        primary.Step(DoViewChangeFrom(2, 5));
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);
        Assert.Empty(primary.SentOf<StartView>());

        // Replica 0 holds op 6: with two certain logs the view starts, and op 6 survives.
        primary.Step(DoViewChangeFrom(0, 6));
        Assert.Equal(ReplicaStatus.Normal, primary.Replica.Status);
        Assert.Equal(new OpNumber(6), primary.SentOf<StartView>().First().Op);
        Assert.False(primary.Storage.HardState.TailUncertain);
    }

    [Fact]
    public void The_same_quorum_drops_the_committed_op_when_the_flag_is_ignored()
    {
        // Without the flag (what a replica that trusted its cut log would send), the paper's rule starts the
        // view with replicas 1 and 2 and op 6, committed by replicas 0 and 1, is gone.
        var primary = NewPrimary(5, tailUncertain: false);
        primary.Step(DoViewChangeFrom(2, 5));
        Assert.Equal(ReplicaStatus.Normal, primary.Replica.Status);
        Assert.Equal(new OpNumber(5), primary.SentOf<StartView>().First().Op);
    }

    [Fact]
    public void A_certain_quorum_starts_the_view_at_once_with_the_best_certain_log()
    {
        // Replica 2 holds op 6 and 7; replica 1 (certain) holds 5. Certain logs of a quorum decide alone.
        var primary = NewPrimary(5, tailUncertain: false);
        primary.Step(DoViewChangeFrom(2, 7));
        Assert.Equal(new OpNumber(7), primary.SentOf<StartView>().First().Op);
    }

    [Fact]
    public void After_a_power_cut_of_the_whole_cluster_with_every_tail_uncertain_the_view_starts_once_every_replica_answered()
    {
        var primary = NewPrimary(5, tailUncertain: true);
        primary.Step(DoViewChangeFrom(2, 4, tailUncertain: true));
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);

        // Every replica answered: an op past the longest log would have to be lost on every replica that
        // acknowledged it, a quorum, more than the f disks the fault model lets lose acknowledged data.
        primary.Step(DoViewChangeFrom(0, 6, tailUncertain: true));
        Assert.Equal(ReplicaStatus.Normal, primary.Replica.Status);
        Assert.Equal(new OpNumber(6), primary.SentOf<StartView>().First().Op);
    }

    [Fact]
    public void A_replica_with_a_damaged_log_answers_so_that_every_replica_has_been_heard_from()
    {
        var primary = NewPrimary(5, tailUncertain: true);
        primary.Step(DoViewChangeFrom(2, 5, tailUncertain: true));
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);

        // Replica 0's disk lost acknowledged entries: it carries no log and is not part of the quorum, but it
        // is a third of the cluster heard from, so at most f disks can have lost an op past op 5.
        primary.Step(new DoViewChange(new View(0), OpNumber.Zero, OpNumber.Zero, []) { Header = From(0, 1), LogDamaged = true });
        Assert.Equal(ReplicaStatus.Normal, primary.Replica.Status);
        Assert.Equal(new OpNumber(5), primary.SentOf<StartView>().First().Op);
    }

    [Fact]
    public void A_damaged_replica_tells_the_primary_of_the_view_it_promised()
    {
        var storage = Restarted(5, tailUncertain: false);
        storage.Persist(new Ready { HardState = storage.HardState with { LogDamaged = true } });
        var damaged = new ReplicaHarness(2, storage: storage);
        damaged.Clear();
        damaged.Step(new DoViewChange(new View(0), new OpNumber(5), new OpNumber(2), Log(5)) { Header = From(0, 1) });
        var told = damaged.Sent.Where(e => e.Message is DoViewChange).ToList();
        Assert.Single(told);
        Assert.Equal(new ReplicaIndex(1), told[0].To);
        Assert.True(((DoViewChange)told[0].Message).LogDamaged);
        Assert.Empty(((DoViewChange)told[0].Message).Entries);
    }

    [Fact]
    public void With_f_replicas_damaged_an_uncertain_tail_is_a_torn_write_and_an_older_longer_log_does_not_hold_the_view_back()
    {
        // Replica 2, the primary of view 2, restarted holding ops 1 to 5 in log view 1, its tail uncertain.
        var primary = new ReplicaHarness(2, storage: Restarted(5, tailUncertain: true, logView: 1));
        primary.Step(new StartViewChange { Header = From(0, 2) });
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);

        // Replica 0's certain log of view 0 goes further; it may be the only copy of an op committed before
        // view 1 that replica 2 lost, so the primary waits.
        primary.Step(new DoViewChange(new View(0), new OpNumber(7), new OpNumber(2), Log(7)) { Header = From(0, 2) });
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);

        // Replica 1's disk lost acknowledged entries: with f disks accounted for, replica 2's tail was torn,
        // not rotten, so its log of view 1 holds everything committed and ops 6 and 7 never were.
        primary.Step(new DoViewChange(new View(1), OpNumber.Zero, OpNumber.Zero, []) { Header = From(1, 2), LogDamaged = true });
        Assert.Equal(ReplicaStatus.Normal, primary.Replica.Status);
        Assert.Equal(new OpNumber(5), primary.SentOf<StartView>().First().Op);
    }

    [Fact]
    public void With_every_tail_uncertain_an_older_log_that_chains_past_the_head_extends_the_log_and_one_that_does_not_is_dropped()
    {
        // Replicas 1 and 2 installed ops 1 to 5 in view 1 and lost whatever followed; replica 0's log of view 0
        // goes to op 7. An op committed past op 5 would have been committed before view 1, with every op before
        // it, so it would chain onto op 5 as view 1 holds it: ops 6 and 7 do, and are kept.
        var primary = PrimaryOfViewTwo(Chain(5));
        primary.Step(new DoViewChange(new View(1), new OpNumber(5), new OpNumber(2), Chain(5)) { Header = From(1, 2), TailUncertain = true });
        primary.Step(new DoViewChange(new View(0), new OpNumber(7), new OpNumber(2), Chain(7)) { Header = From(0, 2), TailUncertain = true });
        Assert.Equal(ReplicaStatus.Normal, primary.Replica.Status);
        var startView = primary.SentOf<StartView>().First();
        Assert.Equal(new OpNumber(7), startView.Op);
        Assert.Equal(Chain(7)[6].Checksum(), startView.Entries.Single(e => e.Op == new OpNumber(7)).Checksum());

        // Replica 0's op 5 is not view 1's (view 1 replaced it): its ops 6 and 7 were never committed.
        var other = PrimaryOfViewTwo(Chain(5));
        other.Step(new DoViewChange(new View(1), new OpNumber(5), new OpNumber(2), Chain(5)) { Header = From(1, 2), TailUncertain = true });
        other.Step(new DoViewChange(new View(0), new OpNumber(7), new OpNumber(2), Chain(7, divergeAt: 5)) { Header = From(0, 2), TailUncertain = true });
        Assert.Equal(ReplicaStatus.Normal, other.Replica.Status);
        Assert.Equal(new OpNumber(5), other.SentOf<StartView>().First().Op);
    }

    [Fact]
    public void With_every_tail_uncertain_an_older_log_committed_past_the_head_that_did_not_send_those_entries_holds_the_view_back()
    {
        // Replica 0 says ops to 7 were committed but sent none of them (its budget for committed entries):
        // chaining cannot reach op 7, so the primary waits rather than start a view without committed ops.
        var primary = PrimaryOfViewTwo(Chain(5));
        primary.Step(new DoViewChange(new View(1), new OpNumber(5), new OpNumber(2), Chain(5)) { Header = From(1, 2), TailUncertain = true });
        primary.Step(new DoViewChange(new View(0), new OpNumber(7), new OpNumber(7), []) { Header = From(0, 2), TailUncertain = true });
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);
        Assert.Empty(primary.SentOf<StartView>());
    }

    /// <summary>Replica 2, the primary of view 2, restarted with <paramref name="log"/> in log view 1, its tail uncertain.</summary>
    private static ReplicaHarness PrimaryOfViewTwo(LogEntry[] log)
    {
        var primary = new ReplicaHarness(2, storage: Restarted(log.Length, tailUncertain: true, logView: 1, log));
        primary.Step(new StartViewChange { Header = From(0, 2) });
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);
        return primary;
    }

    /// <summary>Ops 1 to <paramref name="count"/>, each naming its predecessor's checksum; from <paramref name="divergeAt"/> on, other operations.</summary>
    private static LogEntry[] Chain(int count, int divergeAt = 0)
    {
        var entries = new LogEntry[count];
        for (var i = 0; i < count; i++)
        {
            var op = (ulong)i + 1;
            var entry = Entry(op, 0, value: divergeAt != 0 && (int)op >= divergeAt ? 100 + (int)op : 1);
            entries[i] = entry with { Parent = i == 0 ? 0 : entries[i - 1].Checksum() };
        }

        return entries;
    }

    private static MemoryStorage Restarted(int head, bool tailUncertain, int logView = 0, LogEntry[]? log = null)
    {
        var storage = new MemoryStorage();
        var ready = new Ready { HardState = new HardState(new View((ulong)logView), new View((ulong)logView), new OpNumber(2)) { TailUncertain = tailUncertain } };
        foreach (var entry in log ?? Log(head))
        {
            ready.LogChanges.Add(new LogChange(LogChangeKind.Append, entry.Op, entry));
        }

        storage.Persist(ready);
        return storage;
    }
}
