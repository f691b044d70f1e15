using Viewstamped.Codec;
using Viewstamped.Messages;
using static Viewstamped.Tests.Protocol.ReplicaHarness;

namespace Viewstamped.Tests.Protocol;

/// <summary>
/// What a DoViewChange, StartView and RecoveryResponse carry (every uncommitted entry, and committed
/// ones only up to <see cref="ReplicaOptions.ViewChangeCommittedBytesMax"/>), and how a receiver
/// catches up without the committed entries left out.
/// </summary>
public class ViewChangeLogTests
{
    private const int BigEntryBytes = 56 * 1024;

    /// <summary>A hash chain of <paramref name="count"/> entries from op 1, as a primary of <paramref name="view"/> prepares them.</summary>
    private static LogEntry[] Chain(int count, ulong view = 0, int size = 16, LogEntry? before = null)
    {
        var entries = new LogEntry[count];
        var first = before is null ? 1UL : before.Op.Value + 1;
        for (var i = 0; i < count; i++)
        {
            var op = first + (ulong)i;
            var parent = i > 0 ? entries[i - 1].Checksum() : before?.Checksum() ?? 0;
            entries[i] = new LogEntry(new OpNumber(op), new View(view), EntryKind.Operation, new ClientId(op), 1, new byte[size], []) { Parent = parent };
        }

        return entries;
    }

    /// <summary>Prepares <paramref name="entries"/> at a backup of view 0, in messages of at most 64 entries.</summary>
    private static void Prepare(ReplicaHarness backup, LogEntry[] entries, ulong commit)
    {
        for (var i = 0; i < entries.Length; i += 64)
        {
            backup.Step(new Prepare(new OpNumber(commit), entries[i..Math.Min(entries.Length, i + 64)]) { Header = From(0, 0) });
        }
    }

    private static ReplicaOptions SmallBudget(ReplicaOptions options) => options with { ViewChangeCommittedBytesMax = 256 * 1024 };

    private static long CommittedBytes(LogEntry[] entries, OpNumber commit) =>
        entries.Where(e => e.Op <= commit).Sum(ReplicaLog.SizeOf);

    [Fact]
    public void Every_log_a_view_change_sends_holds_every_uncommitted_entry_and_committed_ones_only_within_the_budget()
    {
        // 300 entries of 56 KiB (16 MiB of log), 290 of them committed: before the budget every one of
        // these messages carried 8 MiB of committed entries.
        var codec = new MessageCodec(ClusterId);
        var entries = Chain(300, size: BigEntryBytes);
        var commit = new OpNumber(290);
        var backup = new ReplicaHarness(2, configure: SmallBudget);
        Prepare(backup, entries, commit.Value);
        Assert.Equal(commit, backup.Replica.CommitNumber);
        backup.Tick(2 * backup.Replica.Options.ViewChangeTimeoutTicks + 1);
        backup.Clear();
        backup.Step(new StartViewChange { Header = From(1, 1) });
        var doViewChange = backup.SentOf<DoViewChange>().Single();

        var budget = backup.Replica.Options.ViewChangeCommittedBytesMax;
        Assert.Equal(new OpNumber(300), doViewChange.Op);
        Assert.Equal(new OpNumber(300), doViewChange.Entries[^1].Op);
        Assert.True(doViewChange.Entries[0].Op <= commit.Next, "every entry after the commit number is carried");
        Assert.InRange(CommittedBytes(doViewChange.Entries, commit), budget - ReplicaLog.SizeOf(entries[0]) + 1, budget);
        Assert.InRange(codec.GetEncodedLength(doViewChange), 10 * BigEntryBytes, 10 * BigEntryBytes + budget + (64 * 1024));
    }

    [Fact]
    public void A_start_view_and_the_primarys_recovery_response_carry_committed_entries_only_within_the_budget()
    {
        var entries = Chain(200, size: BigEntryBytes);
        var newPrimary = new ReplicaHarness(1, configure: SmallBudget);
        Prepare(newPrimary, entries, 195);
        newPrimary.Tick(2 * newPrimary.Replica.Options.ViewChangeTimeoutTicks + 1);
        newPrimary.Step(new StartViewChange { Header = From(2, 1) });
        newPrimary.Clear();
        newPrimary.Step(new DoViewChange(new View(0), new OpNumber(200), new OpNumber(195), entries[190..]) { Header = From(2, 1) });

        var startView = newPrimary.SentOf<StartView>().First();
        Assert.Equal(ReplicaStatus.Normal, newPrimary.Replica.Status);
        Assert.Equal(new OpNumber(200), startView.Op);
        Assert.True(startView.Entries[0].Op <= new OpNumber(196));
        Assert.True(CommittedBytes(startView.Entries, startView.CommitNumber) <= newPrimary.Replica.Options.ViewChangeCommittedBytesMax);
        Assert.True(startView.Entries.Length < 10, $"{startView.Entries.Length} entries of 56 KiB");

        newPrimary.Clear();
        newPrimary.Step(new Recovery(99) { Header = From(0, 0) });
        var recoveryResponse = newPrimary.SentOf<RecoveryResponse>().Single();
        Assert.Equal(new OpNumber(200), recoveryResponse.Op);
        Assert.Equal(startView.Entries, recoveryResponse.Entries);
    }

    [Fact]
    public void With_no_committed_budget_a_view_change_carries_only_what_follows_the_commit_number()
    {
        var entries = Chain(40);
        var backup = new ReplicaHarness(2, configure: o => o with { ViewChangeCommittedBytesMax = 0 });
        Prepare(backup, entries, 33);
        backup.Tick(2 * backup.Replica.Options.ViewChangeTimeoutTicks + 1);
        backup.Clear();
        backup.Step(new StartViewChange { Header = From(1, 1) });

        var doViewChange = backup.SentOf<DoViewChange>().Single();
        Assert.Equal(entries[33..], doViewChange.Entries);
    }

    [Fact]
    public void A_backup_whose_entries_chain_into_a_start_view_keeps_them_and_needs_no_state_transfer()
    {
        var entries = Chain(110);
        var backup = new ReplicaHarness(2);
        Prepare(backup, entries[..100], 50);
        Assert.Equal(new OpNumber(50), backup.Replica.ExecutedOp);
        backup.Clear();

        // The new primary's log of view 1 carries only ops 96 to 110; the backup lacks 101 to 110.
        backup.Step(new StartView(new OpNumber(110), new OpNumber(105), entries[95..]) { Header = From(1, 1) });

        Assert.Equal(ReplicaStatus.Normal, backup.Replica.Status);
        Assert.Equal(new OpNumber(105), backup.Replica.ExecutedOp);
        Assert.Equal(new OpNumber(110), backup.Replica.Op);
        Assert.Equal(entries[49], backup.Replica.EntryAt(new OpNumber(50)));
        Assert.Empty(backup.SentOf<GetState>());
        Assert.Equal(new OpNumber(110), backup.SentOf<PrepareOk>().Single().Op);
        backup.Tick(3 * backup.Replica.Options.RetryTicks);
        Assert.Empty(backup.SentOf<GetState>());
    }

    [Fact]
    public void A_backup_whose_entries_do_not_chain_into_a_start_view_keeps_its_log_and_fetches_the_committed_gap_into_it_first()
    {
        // The backup's ops 91 to 95 are from view 0 and never committed; view 1's log has other ones.
        var shared = Chain(90);
        var stale = Chain(5, view: 0, size: 3, before: shared[^1]);
        var view1 = Chain(20, view: 1, before: shared[^1]);
        var backup = new ReplicaHarness(2);
        Prepare(backup, [.. shared, .. stale], 50);
        backup.Clear();

        var startView = new StartView(new OpNumber(110), new OpNumber(105), view1[5..]) { Header = From(1, 1) };
        backup.Step(startView);

        // Installing now would drop its log and leave ops 51 to 95 on its disk in no log and no
        // checkpoint: it joins view 1, keeps its log, and asks the new primary for the gap.
        Assert.Equal(ReplicaStatus.ViewChange, backup.Replica.Status);
        Assert.Equal(new View(1), backup.Replica.View);
        Assert.True(backup.Replica.IsFillingGap);
        Assert.Equal(new OpNumber(95), backup.Replica.Op);
        Assert.Equal(stale[0], backup.Replica.EntryAt(new OpNumber(91)));
        Assert.Null(backup.Storage.Checkpoint);
        var getState = backup.Sent.Single(e => e.Message is GetState);
        Assert.Equal(new ReplicaIndex(1), getState.To);
        Assert.Equal(new OpNumber(50), ((GetState)getState.Message).Op);
        Assert.Contains(backup.Sent, e => e.Message is DoViewChange && e.To == new ReplicaIndex(1));

        // Committed entries go into its log, replacing the stale ones; the entries past the gap are not taken.
        backup.Step(new NewState(new OpNumber(110), new OpNumber(105), [.. shared[50..], .. view1], OpNumber.Zero, 0, 0) { Header = From(1, 1) });
        Assert.Equal(new OpNumber(95), backup.Replica.Op);
        Assert.Equal(new OpNumber(95), backup.Replica.ExecutedOp);
        Assert.Equal(view1[0], backup.Replica.EntryAt(new OpNumber(91)));
        Assert.Equal(new OpNumber(95), backup.Storage.Load().LogHead);
        Assert.Equal(view1[4], backup.Storage.Load().Entries[^1]);

        // The StartView comes again, in answer to its DoViewChange, and now reaches its log.
        backup.Clear();
        backup.Step(startView);
        Assert.Equal(ReplicaStatus.Normal, backup.Replica.Status);
        Assert.False(backup.Replica.IsFillingGap);
        Assert.Equal(new OpNumber(1), backup.Storage.Load().Entries[0].Op);
        Assert.Equal(new OpNumber(105), backup.Replica.ExecutedOp);
        Assert.Equal(view1[^1], backup.Replica.EntryAt(new OpNumber(110)));
        Assert.Equal(new OpNumber(110), backup.SentOf<PrepareOk>().Single().Op);
        Assert.Null(backup.Storage.Checkpoint);
    }

    [Fact]
    public void A_new_primary_fills_the_gap_from_the_chosen_log_s_sender_before_starting_the_view()
    {
        var entries = Chain(100);
        var newPrimary = new ReplicaHarness(1);
        Prepare(newPrimary, entries[..40], 30);
        newPrimary.Tick(2 * newPrimary.Replica.Options.ViewChangeTimeoutTicks + 1);
        newPrimary.Step(new StartViewChange { Header = From(2, 1) });
        Assert.Equal(ReplicaStatus.ViewChange, newPrimary.Replica.Status);
        newPrimary.Clear();

        // Replica 2's log ends at 100 with 95 committed; it sends only ops 91 to 100.
        newPrimary.Step(new DoViewChange(new View(0), new OpNumber(100), new OpNumber(95), entries[90..]) { Header = From(2, 1) });
        Assert.Equal(ReplicaStatus.ViewChange, newPrimary.Replica.Status);
        Assert.Empty(newPrimary.SentOf<StartView>());
        var getState = newPrimary.Sent.Single(e => e.Message is GetState);
        Assert.Equal(new ReplicaIndex(2), getState.To);
        Assert.Equal(new OpNumber(30), ((GetState)getState.Message).Op);

        // The sender, still changing views, answers with committed entries only.
        newPrimary.Step(new NewState(new OpNumber(100), new OpNumber(95), entries[30..90], OpNumber.Zero, 0, 0) { Header = From(2, 1) });
        Assert.Equal(new OpNumber(90), newPrimary.Replica.ExecutedOp);

        // The DoViewChanges come again: now the view starts.
        newPrimary.Tick(newPrimary.Replica.Options.RetryTicks + 1);
        newPrimary.Step(new DoViewChange(new View(0), new OpNumber(100), new OpNumber(95), entries[90..]) { Header = From(2, 1) });
        Assert.Equal(ReplicaStatus.Normal, newPrimary.Replica.Status);
        Assert.True(newPrimary.Replica.IsPrimary);
        Assert.Equal(new OpNumber(100), newPrimary.Replica.Op);
        Assert.NotEmpty(newPrimary.SentOf<StartView>());
    }

    [Fact]
    public void A_replica_outside_the_requesters_view_answers_a_get_state_with_committed_entries_only()
    {
        var entries = Chain(60);
        var backup = new ReplicaHarness(2);
        Prepare(backup, entries, 40);
        backup.Clear();

        backup.Step(new GetState(new OpNumber(30)) { Header = From(1, 3) });
        var newState = backup.SentOf<NewState>().Single();
        Assert.Equal(entries[30..40], newState.Entries);
        Assert.Equal(new OpNumber(40), newState.CommitNumber);

        backup.Clear();
        backup.Step(new GetState(new OpNumber(45)) { Header = From(1, 3) });
        Assert.Empty(backup.SentOf<NewState>());

        // In its own view and normal, it sends its log as it is, uncommitted entries too.
        backup.Step(new GetState(new OpNumber(30)) { Header = From(1, 0) });
        Assert.Equal(entries[30..], backup.SentOf<NewState>().Single().Entries);
    }

    [Fact]
    public void A_negative_committed_budget_is_refused()
    {
        var options = new ReplicaOptions { Cluster = ClusterId, ReplicaCount = 3, Replica = new ReplicaIndex(0), Seed = 1, ViewChangeCommittedBytesMax = -1 };
        Assert.Contains("ViewChangeCommittedBytesMax", Assert.Throws<ArgumentException>(() => options.Validate()).Message, StringComparison.Ordinal);
    }
}
