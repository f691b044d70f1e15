using Viewstamped.Messages;
using static Viewstamped.Tests.Protocol.ReplicaHarness;

namespace Viewstamped.Tests.Protocol;

public class LimitTests
{
    private static ReplicaHarness SmallPrimary() => new(0, configure: o => o with
    {
        MessageSizeMax = 64 * 1024,
        RequestSizeMax = 4 * 1024,
        PipelineBytesMax = 16 * 1024,
        CheckpointInterval = 0,
    });

    private static void Register(ReplicaHarness primary, ulong client, ulong op)
    {
        primary.Step(new Request(new ClientId(client), 0, RequestKind.Register, []) { Header = FromClient() });
        primary.Step(new PrepareOk(new OpNumber(op)) { Header = From(1, 0) });
    }

    [Fact]
    public void An_operation_above_the_size_limit_is_refused_as_too_large()
    {
        var primary = SmallPrimary();
        Register(primary, 1, 1);
        primary.Clear();
        primary.Step(new Request(new ClientId(1), 1, RequestKind.Operation, new byte[4 * 1024 + 1]) { Header = FromClient() });
        Assert.Equal(ReplyStatus.TooLarge, primary.Replies.Single().Status);
        Assert.Equal(new OpNumber(1), primary.Replica.Op);
    }

    [Fact]
    public void The_primary_refuses_with_busy_once_uncommitted_bytes_reach_the_pipeline_limit_and_recovers_after_commits()
    {
        var primary = SmallPrimary();
        for (ulong c = 1; c <= 6; c++)
        {
            Register(primary, c, c);
        }

        primary.Clear();
        for (ulong c = 1; c <= 6; c++)
        {
            primary.Step(new Request(new ClientId(c), 1, RequestKind.Operation, new byte[4000]) { Header = FromClient() });
        }

        Assert.Equal(10UL, primary.Replica.Op.Value);
        Assert.Equal(2, primary.Replies.Count(r => r.Status == ReplyStatus.Busy));

        primary.Step(new PrepareOk(primary.Replica.Op) { Header = From(1, 0) });
        primary.Clear();
        primary.Step(new Request(new ClientId(5), 1, RequestKind.Operation, new byte[4000]) { Header = FromClient() });
        Assert.Empty(primary.Replies);
        Assert.Equal(11UL, primary.Replica.Op.Value);
    }

    [Fact]
    public void A_do_view_change_carries_every_uncommitted_entry_but_only_as_many_committed_ones_as_fit()
    {
        var backup = new ReplicaHarness(2, configure: o => o with
        {
            MessageSizeMax = 64 * 1024,
            RequestSizeMax = 4 * 1024,
            PipelineBytesMax = 8 * 1024,
            CheckpointInterval = 0,
        });
        var entries = Enumerable.Range(1, 40)
            .Select(i => new LogEntry(new OpNumber((ulong)i), new View(0), EntryKind.Operation, new ClientId((ulong)i), 1, new byte[3000], []))
            .ToArray();
        backup.Step(new Prepare(new OpNumber(20), entries[..20]) { Header = From(0, 0) });
        backup.Step(new Prepare(new OpNumber(20), entries[20..]) { Header = From(0, 0) });
        backup.Tick(2 * backup.Replica.Options.ViewChangeTimeoutTicks + 1);
        backup.Clear();
        backup.Step(new StartViewChange { Header = From(1, 1) });

        var doViewChange = backup.SentOf<DoViewChange>().Single();
        Assert.Equal(new OpNumber(40), doViewChange.Op);
        Assert.True(doViewChange.Entries.Length < 40, "older committed entries are left out");
        Assert.True(doViewChange.Entries[0].Op <= new OpNumber(21), "every entry after the commit number is carried");
    }
}
