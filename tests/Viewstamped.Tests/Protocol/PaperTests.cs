using Viewstamped.Messages;
using Viewstamped.Samples;
using static Viewstamped.Tests.Protocol.ReplicaHarness;

namespace Viewstamped.Tests.Protocol;

/// <summary>
/// Each test names the section of VR Revisited (Liskov and Cowling, 2012) whose rule it checks,
/// paraphrased, and drives a single replica by hand.
/// </summary>
public class PaperTests
{
    [Fact]
    public void S4_1_step3_backup_accepts_prepares_only_in_op_order_and_acknowledges_cumulatively()
    {
        var backup = new ReplicaHarness(1);
        backup.Step(new Prepare(OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 0) });
        backup.Step(new Prepare(OpNumber.Zero, [Entry(3, 0, request: 2)]) { Header = From(0, 0) });

        Assert.Equal(new OpNumber(1), backup.Replica.Op);
        Assert.Equal([new OpNumber(1)], backup.SentOf<PrepareOk>().Select(p => p.Op));
        Assert.Single(backup.SentOf<GetState>());

        backup.Clear();
        backup.Step(new Prepare(OpNumber.Zero, [Entry(2, 0, request: 1), Entry(3, 0, request: 2)]) { Header = From(0, 0) });
        Assert.Equal(new OpNumber(3), backup.Replica.Op);
        Assert.Equal([new OpNumber(3)], backup.SentOf<PrepareOk>().Select(p => p.Op));
    }

    [Fact]
    public void S4_1_step3_a_prepare_ok_leaves_only_after_the_entry_is_persisted()
    {
        var backup = new ReplicaHarness(1);
        backup.Replica.Step(new Prepare(OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 0) });
        var ready = backup.Replica.TakeReady();

        Assert.Contains(ready.LogChanges, c => c.Kind == LogChangeKind.Append && c.Op == new OpNumber(1));
        Assert.Contains(ready.Messages, e => e.Message is PrepareOk);
    }

    [Fact]
    public void S4_1_step5_primary_commits_after_f_acknowledgements_and_replies()
    {
        var primary = new ReplicaHarness(0);
        primary.Step(new Request(new ClientId(7), 0, RequestKind.Register, []) { Header = FromClient() });
        Assert.Equal(2, primary.SentOf<Prepare>().Count());
        Assert.Equal(OpNumber.Zero, primary.Replica.CommitNumber);
        Assert.Empty(primary.Replies);

        primary.Step(new PrepareOk(new OpNumber(1)) { Header = From(1, 0) });

        Assert.Equal(new OpNumber(1), primary.Replica.CommitNumber);
        Assert.Equal(ReplyStatus.Ok, primary.Replies.Single().Status);
    }

    [Fact]
    public void S4_1_step6_idle_primary_sends_commit_as_heartbeat()
    {
        var primary = new ReplicaHarness(0);
        primary.Tick(primary.Replica.Options.HeartbeatTicks + 1);
        Assert.Equal(2, primary.SentOf<Commit>().Count());
    }

    [Fact]
    public void S4_1_step7_backup_executes_only_committed_ops()
    {
        var backup = new ReplicaHarness(1);
        backup.Step(new Prepare(OpNumber.Zero, [Registration(1, 0), Entry(2, 0, value: 5)]) { Header = From(0, 0) });
        Assert.Equal(0, backup.Service.Total);

        backup.Step(new Commit(new OpNumber(2), new OpNumber(2)) { Header = From(0, 0) });
        Assert.Equal(5, backup.Service.Total);
        Assert.Empty(backup.Replies);
    }

    [Fact]
    public void S4_1_backup_refuses_client_requests_and_names_the_view()
    {
        var backup = new ReplicaHarness(1);
        backup.Step(new Request(new ClientId(7), 0, RequestKind.Register, []) { Header = FromClient() });
        var reply = backup.Replies.Single();
        Assert.Equal(ReplyStatus.NotPrimary, reply.Status);
        Assert.Equal(new View(0), reply.View);
    }

    [Fact]
    public void S4_2_step1_a_backup_that_hears_nothing_proposes_the_next_view()
    {
        var backup = new ReplicaHarness(1);
        backup.Tick(2 * backup.Replica.Options.ViewChangeTimeoutTicks + 1);
        Assert.All(backup.SentOf<StartViewChange>(), m => Assert.Equal(new View(1), m.View));
        Assert.NotEmpty(backup.SentOf<StartViewChange>());
        Assert.Equal(ReplicaStatus.Normal, backup.Replica.Status);
    }

    [Fact]
    public void S4_2_step2_with_a_quorum_of_proposals_it_persists_the_view_and_sends_do_view_change()
    {
        var backup = new ReplicaHarness(2);
        backup.Tick(2 * backup.Replica.Options.ViewChangeTimeoutTicks + 1);
        backup.Clear();
        backup.Step(new StartViewChange { Header = From(1, 1) });

        Assert.Equal(ReplicaStatus.ViewChange, backup.Replica.Status);
        Assert.Equal(new View(1), backup.Storage.HardState.View);
        var doViewChange = Assert.Single(backup.Sent, e => e.Message is DoViewChange);
        Assert.Equal(new ReplicaIndex(1), doViewChange.To);
    }

    [Fact]
    public void D4_a_backup_that_hears_its_primary_ignores_a_lone_proposal()
    {
        var backup = new ReplicaHarness(1);
        backup.Step(new StartViewChange { Header = From(2, 1) });
        Assert.Equal(ReplicaStatus.Normal, backup.Replica.Status);
        Assert.Equal(new View(0), backup.Replica.View);
        Assert.Empty(backup.SentOf<StartViewChange>());
    }

    [Fact]
    public void S4_2_step3_new_primary_takes_the_log_with_the_largest_log_view_then_op()
    {
        var primary = new ReplicaHarness(1);
        primary.Step(new Prepare(OpNumber.Zero, [Registration(1, 0), Entry(2, 0), Entry(3, 0, request: 2)]) { Header = From(0, 0) });
        primary.Step(new DoViewChange(new View(0), new OpNumber(3), OpNumber.Zero,
            [Registration(1, 0), Entry(2, 0), Entry(3, 0, request: 2)])
        { Header = From(1, 1) });
        Assert.Equal(ReplicaStatus.ViewChange, primary.Replica.Status);

        // A longer log from an older log view loses to a shorter one from a newer log view.
        var doViewChange = new DoViewChange(new View(0), new OpNumber(2), new OpNumber(1), [Registration(1, 0), Entry(2, 0, value: 9)])
        {
            Header = From(2, 1),
        };
        primary.Step(doViewChange);

        Assert.Equal(ReplicaStatus.Normal, primary.Replica.Status);
        Assert.Equal(new OpNumber(3), primary.Replica.Op);
        Assert.Equal(new OpNumber(1), primary.Replica.CommitNumber);
        Assert.Equal(2, primary.SentOf<StartView>().Count());
    }

    [Fact]
    public void D5_a_start_view_for_an_older_view_is_ignored()
    {
        var backup = new ReplicaHarness(2);
        backup.Step(new StartView(new OpNumber(0), OpNumber.Zero, []) { Header = From(0, 5) });
        Assert.Equal(new View(0), backup.Replica.View);

        backup.Step(new StartView(new OpNumber(1), OpNumber.Zero, [Registration(1, 4)]) { Header = From(1, 4) });
        Assert.Equal(new View(4), backup.Replica.View);
        backup.Step(new StartView(new OpNumber(0), OpNumber.Zero, []) { Header = From(0, 3) });
        Assert.Equal(new View(4), backup.Replica.View);
        Assert.Equal(new OpNumber(1), backup.Replica.Op);
    }

    [Fact]
    public void S4_2_step5_backup_acknowledges_uncommitted_ops_of_the_new_view()
    {
        var backup = new ReplicaHarness(2);
        backup.Step(new StartView(new OpNumber(2), new OpNumber(1), [Registration(1, 0), Entry(2, 0)]) { Header = From(1, 1) });
        Assert.Equal(ReplicaStatus.Normal, backup.Replica.Status);
        Assert.Equal(new View(1), backup.Storage.HardState.LogView);
        Assert.Equal(new OpNumber(2), backup.SentOf<PrepareOk>().Single().Op);
    }

    [Fact]
    public void D2_a_backup_that_learns_of_a_newer_view_does_not_truncate_but_asks_for_the_start_view()
    {
        var backup = new ReplicaHarness(2);
        backup.Step(new Prepare(OpNumber.Zero, [Registration(1, 0), Entry(2, 0)]) { Header = From(0, 0) });
        backup.Clear();
        backup.Step(new Commit(new OpNumber(1), new OpNumber(5)) { Header = From(1, 1) });

        Assert.Equal(ReplicaStatus.ViewChange, backup.Replica.Status);
        Assert.Equal(new View(1), backup.Replica.View);
        Assert.Equal(new View(0), backup.Replica.LogView);
        Assert.Equal(new OpNumber(2), backup.Replica.Op);
        Assert.Single(backup.Sent, e => e.Message is DoViewChange && e.To == new ReplicaIndex(1));
    }

    [Fact]
    public void S4_3_a_restarted_replica_recovers_only_with_f_plus_1_answers_including_the_primary()
    {
        var first = new ReplicaHarness(2);
        first.Step(new Prepare(OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 0) });
        var restarted = new ReplicaHarness(2, storage: first.Storage);
        Assert.Equal(ReplicaStatus.Recovering, restarted.Replica.Status);
        var nonce = restarted.SentOf<Recovery>().First().Nonce;

        restarted.Step(new RecoveryResponse(nonce, OpNumber.Zero, OpNumber.Zero, []) { Header = From(1, 0) });
        restarted.Step(new RecoveryResponse(nonce + 1, new OpNumber(1), OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 0) });
        Assert.Equal(ReplicaStatus.Recovering, restarted.Replica.Status);

        restarted.Step(new RecoveryResponse(nonce, new OpNumber(2), new OpNumber(1), [Registration(1, 0), Entry(2, 0)]) { Header = From(0, 0) });
        Assert.Equal(ReplicaStatus.Normal, restarted.Replica.Status);
        Assert.Equal(new OpNumber(2), restarted.Replica.Op);
        Assert.Equal(new OpNumber(1), restarted.Replica.CommitNumber);
    }

    [Fact]
    public void D1_a_restarted_replica_keeps_the_view_it_promised()
    {
        var backup = new ReplicaHarness(2);
        backup.Tick(2 * backup.Replica.Options.ViewChangeTimeoutTicks + 1);
        backup.Step(new StartViewChange { Header = From(1, 1) });
        Assert.Equal(new View(1), backup.Replica.View);

        var restarted = new ReplicaHarness(2, storage: backup.Storage);
        Assert.Equal(new View(1), restarted.Replica.View);
    }

    [Fact]
    public void D7_a_recovering_replica_answers_no_recovery_and_acknowledges_no_prepare()
    {
        var first = new ReplicaHarness(2);
        var restarted = new ReplicaHarness(2, storage: first.Storage);
        restarted.Clear();
        restarted.Step(new Recovery(99) { Header = From(1, 0) });
        restarted.Step(new Prepare(OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 0) });
        Assert.Empty(restarted.Sent);
        Assert.Equal(OpNumber.Zero, restarted.Replica.Op);
    }

    [Fact]
    public void S5_2_a_peer_answers_get_state_for_compacted_ops_with_its_checkpoint()
    {
        var primary = new ReplicaHarness(0, configure: o => o with { CheckpointInterval = 4, LogSuffix = 1 });
        primary.Step(new Request(new ClientId(7), 0, RequestKind.Register, []) { Header = FromClient() });
        for (ulong n = 1; n <= 5; n++)
        {
            primary.Step(new PrepareOk(new OpNumber(n)) { Header = From(1, 0) });
            primary.Step(new Request(new ClientId(7), n, RequestKind.Operation, Adder.Encode(1)) { Header = FromClient() });
        }

        primary.Step(new PrepareOk(new OpNumber(6)) { Header = From(1, 0) });
        Assert.Equal(new OpNumber(4), primary.Replica.CheckpointOp);
        Assert.Equal(new OpNumber(4), primary.Replica.LogStart);
        primary.Clear();

        primary.Step(new GetState(new OpNumber(1)) { Header = From(2, 0) });
        var newState = primary.SentOf<NewState>().Single();
        Assert.Empty(newState.Entries);
        Assert.Equal(new OpNumber(4), newState.CheckpointOp);
        Assert.NotEqual(0UL, newState.CheckpointSize);
    }

    [Fact]
    public void Repair_a_replica_whose_disk_lost_entries_does_not_vote_until_it_takes_a_log_from_a_peer()
    {
        var first = new ReplicaHarness(1);
        first.Step(new Prepare(OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 0) });
        var damaged = first.Storage.Load() with { LogDamaged = true };
        var options = first.Replica.Options with { Seed = 99 };
        var replica = new Replica(options, new Adder(), damaged);

        // The damage is made durable first: storage cut it off and will not report it again.
        Assert.True(replica.TakeReady().HardState?.LogDamaged);

        // The primary of view 1 is this replica: it must not start the view from its damaged log.
        replica.Step(new DoViewChange(new View(0), new OpNumber(1), OpNumber.Zero, [Registration(1, 0)]) { Header = From(2, 1) });
        replica.Step(new DoViewChange(new View(0), new OpNumber(1), OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 1) });
        var ready = replica.TakeReady();
        Assert.Equal(ReplicaStatus.ViewChange, replica.Status);
        Assert.DoesNotContain(ready.Messages, e => e.Message is StartView or DoViewChange);

        // A StartView from the next view's primary repairs it; from then on it votes again.
        replica.Step(new StartView(new OpNumber(1), OpNumber.Zero, [Registration(1, 0)]) { Header = From(2, 2) });
        Assert.Equal(ReplicaStatus.Normal, replica.Status);
        Assert.False(replica.TakeReady().HardState?.LogDamaged ?? true);
        replica.Step(new DoViewChange(new View(2), new OpNumber(1), OpNumber.Zero, [Registration(1, 0)]) { Header = From(2, 4) });
        Assert.Contains(replica.TakeReady().Messages, e => e.Message is DoViewChange || e.Message is StartView);

        // A damaged hard state alone (the storage found nothing new this time) keeps it from voting too.
        var again = new Replica(options, new Adder(), first.Storage.Load() with { HardState = first.Storage.Load().HardState with { LogDamaged = true } });
        again.Step(new DoViewChange(new View(0), new OpNumber(1), OpNumber.Zero, [Registration(1, 0)]) { Header = From(2, 1) });
        Assert.DoesNotContain(again.TakeReady().Messages, e => e.Message is DoViewChange or StartView);
    }

    [Fact]
    public void Repair_a_single_replica_whose_disk_lost_entries_refuses_to_start()
    {
        var options = new ReplicaOptions { Cluster = 1, ReplicaCount = 1, Replica = new ReplicaIndex(0), Seed = 7 };
        var damaged = new DurableState(default, null, [], OpNumber.Zero) { LogDamaged = true };
        var error = Assert.Throws<ArgumentException>(() => new Replica(options, new Adder(), damaged));
        Assert.Contains("no peer", error.Message, StringComparison.Ordinal);
    }
}
