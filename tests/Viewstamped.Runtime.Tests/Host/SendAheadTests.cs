using Viewstamped.Messages;
using Viewstamped.Runtime.Host;

namespace Viewstamped.Runtime.Tests.Host;

public sealed class SendAheadTests
{
    private static readonly MessageHeader header = new(0x2a, 0, new View(1), new ReplicaIndex(1));

    [Fact]
    public void A_normal_primary_sends_its_Prepares_ahead_with_the_commit_number_cut_to_its_durable_head_and_only_replies_for_durable_ops()
    {
        var ahead = new SendAhead(Durable(head: 5));
        var prepare = new Prepare(new OpNumber(7), [Entry(8)]) { Header = header };
        var commit = new Commit(new OpNumber(7), new OpNumber(8)) { Header = header };
        var ready = Appending(8);
        ready.Messages.AddRange([new Envelope(new ReplicaIndex(0), prepare), new Envelope(new ReplicaIndex(2), prepare), new Envelope(new ReplicaIndex(0), commit)]);
        ready.Replies.AddRange([Reply(4), Reply(7)]);
        var prepares = new List<Envelope>();
        var replies = new List<Reply>();

        var barrier = ahead.Queue(ready, normalPrimary: true, persistPending: true, prepares, replies);

        Assert.False(barrier);
        Assert.Equal([0, 2], prepares.Select(e => (int)e.To.Value));
        var sent = Assert.IsType<Prepare>(prepares[0].Message);
        Assert.Equal(new OpNumber(5), sent.CommitNumber);
        Assert.Same(sent, prepares[1].Message);
        Assert.Equal(prepare.Entries, sent.Entries);
        Assert.Equal([new OpNumber(4)], replies.Select(r => r.Op));
        Assert.Equal([commit], ready.Messages.Select(e => e.Message));
        Assert.Equal([new OpNumber(7)], ready.Replies.Select(r => r.Op));
    }

    [Fact]
    public void Replies_left_waiting_leave_once_the_ops_they_answer_are_durable()
    {
        var ahead = new SendAhead(Durable(head: 5));
        var first = Appending(6, 7);
        Assert.False(ahead.Queue(first, normalPrimary: true, persistPending: true, [], []));
        var second = Appending(8);
        second.Replies.AddRange([Reply(7), Reply(8)]);
        var replies = new List<Reply>();
        Assert.False(ahead.Queue(second, normalPrimary: true, persistPending: true, [], replies));
        Assert.Empty(replies);

        Assert.True(ahead.Durable(first, barrier: false));
        Assert.True(ahead.TakeDurableReplies(second, barrier: false, replies));

        Assert.Equal([new OpNumber(7)], replies.Select(r => r.Op));
        Assert.Equal([new OpNumber(8)], second.Replies.Select(r => r.Op));
        Assert.Equal(new OpNumber(7), ahead.DurableHead);
    }

    [Fact]
    public void Nothing_leaves_ahead_of_a_barrier_until_the_barrier_is_durable()
    {
        var ahead = new SendAhead(Durable(head: 5));
        var truncation = new Ready { LogChanges = { new LogChange(LogChangeKind.TruncateAfter, new OpNumber(3), null) } };
        truncation.Replies.Add(Reply(2));
        var replies = new List<Reply>();
        Assert.True(ahead.Queue(truncation, normalPrimary: true, persistPending: true, [], replies));
        var after = Appending(4);
        after.Messages.Add(new Envelope(new ReplicaIndex(0), new Prepare(new OpNumber(3), [Entry(4)]) { Header = header }));
        after.Replies.Add(Reply(3));
        var prepares = new List<Envelope>();

        Assert.False(ahead.Queue(after, normalPrimary: true, persistPending: true, prepares, replies));
        Assert.Empty(prepares);
        Assert.Empty(replies);
        Assert.Single(truncation.Replies);

        Assert.True(ahead.Durable(truncation, barrier: true));
        Assert.True(ahead.TakeDurableReplies(after, barrier: false, replies));

        Assert.Equal(new OpNumber(3), ahead.DurableHead);
        Assert.Equal([new OpNumber(3)], replies.Select(r => r.Op));
    }

    [Fact]
    public void Replies_behind_a_barrier_stay_and_a_write_that_made_nothing_new_durable_frees_none()
    {
        var ahead = new SendAhead(Durable(head: 5));
        var first = Appending(6);
        Assert.False(ahead.Queue(first, normalPrimary: true, persistPending: true, [], []));
        var reset = new Ready { LogChanges = { new LogChange(LogChangeKind.Reset, new OpNumber(9), null) } };
        reset.Replies.Add(Reply(6));
        Assert.True(ahead.Queue(reset, normalPrimary: true, persistPending: true, [], []));
        var replies = new List<Reply>();

        Assert.True(ahead.Durable(first, barrier: false));
        Assert.False(ahead.TakeDurableReplies(reset, barrier: true, replies));
        Assert.Empty(replies);
        Assert.Single(reset.Replies);

        Assert.False(ahead.Durable(new Ready(), barrier: false));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void A_backup_or_a_write_already_done_sends_nothing_ahead(bool normalPrimary, bool persistPending)
    {
        var ahead = new SendAhead(Durable(head: 5));
        var ready = Appending(6);
        ready.Messages.Add(new Envelope(new ReplicaIndex(0), new PrepareOk(new OpNumber(6)) { Header = header }));
        ready.Messages.Add(new Envelope(new ReplicaIndex(2), new Prepare(new OpNumber(5), [Entry(6)]) { Header = header }));
        ready.Replies.Add(Reply(5));
        var prepares = new List<Envelope>();
        var replies = new List<Reply>();

        ahead.Queue(ready, normalPrimary, persistPending, prepares, replies);

        Assert.Empty(prepares);
        Assert.Empty(replies);
        Assert.Equal(2, ready.Messages.Count);
        Assert.Single(ready.Replies);
    }

    private static DurableState Durable(ulong head) => new(new HardState(new View(1), new View(1), new OpNumber(head)), null, [], new OpNumber(head));

    private static LogEntry Entry(ulong op) => new(new OpNumber(op), new View(1), EntryKind.Operation, new ClientId(9), op, [1], []);

    private static Ready Appending(params ulong[] ops)
    {
        var ready = new Ready();
        foreach (var op in ops)
        {
            ready.LogChanges.Add(new LogChange(LogChangeKind.Append, new OpNumber(op), Entry(op)));
        }

        return ready;
    }

    private static Reply Reply(ulong op) => new(new ClientId(op), op, ReplyStatus.Ok, new OpNumber(op), []) { Header = header };
}
