using Viewstamped.Messages;
using Viewstamped.Samples;

namespace Viewstamped.Tests.Protocol;

public class ReplicaOptionsTests
{
    private static ReplicaOptions Options(int count, byte index = 0) =>
        new() { Cluster = 1, ReplicaCount = count, Replica = new ReplicaIndex(index), Seed = 1 };

    [Theory]
    [InlineData(1, 0, 1)]
    [InlineData(2, 0, 2)]
    [InlineData(3, 1, 2)]
    [InlineData(4, 1, 3)]
    [InlineData(5, 2, 3)]
    [InlineData(7, 3, 4)]
    public void F_is_the_largest_with_2f_plus_1_at_most_K_and_a_quorum_is_K_minus_f(int count, int f, int quorum)
    {
        var options = Options(count).Validate();
        Assert.Equal(f, options.F);
        Assert.Equal(quorum, options.Quorum);
    }

    [Fact]
    public void Configurations_that_cannot_work_are_refused_with_a_reason()
    {
        Assert.Contains("ReplicaCount", Assert.Throws<ArgumentException>(() => Options(0).Validate()).Message);
        Assert.Contains("outside", Assert.Throws<ArgumentException>(() => Options(3, 3).Validate()).Message);
        Assert.Contains("heartbeats", Assert.Throws<ArgumentException>(() => (Options(3) with { ViewChangeTimeoutTicks = 15 }).Validate()).Message);
        Assert.Throws<ArgumentException>(() => new Replica(Options(3, 5), new Adder()));
    }
}

public class ClientTableTests
{
    [Fact]
    public void Eviction_removes_the_session_whose_latest_op_is_oldest()
    {
        var table = new ClientTable(2);
        Assert.Null(table.Register(new ClientId(1), new OpNumber(1)));
        Assert.Null(table.Register(new ClientId(2), new OpNumber(2)));
        table.RecordExecution(new ClientId(1), 1, new OpNumber(3), [9]);

        Assert.Equal(new ClientId(2), table.Register(new ClientId(3), new OpNumber(4)));
        Assert.NotNull(table.Find(new ClientId(1)));
        Assert.Null(table.Find(new ClientId(2)));
    }

    [Fact]
    public void Serialization_is_independent_of_insertion_order_and_round_trips()
    {
        var a = new ClientTable(10);
        var b = new ClientTable(10);
        a.Register(new ClientId(5), new OpNumber(1));
        a.Register(new ClientId(9), new OpNumber(2));
        b.Register(new ClientId(9), new OpNumber(2));
        b.Register(new ClientId(5), new OpNumber(1));
        a.RecordExecution(new ClientId(9), 4, new OpNumber(7), [1, 2, 3]);
        b.RecordExecution(new ClientId(9), 4, new OpNumber(7), [1, 2, 3]);
        Assert.Equal(a.Serialize(), b.Serialize());

        var restored = new ClientTable(10);
        restored.Restore(a.Serialize());
        Assert.Equal(a.Serialize(), restored.Serialize());
        Assert.Equal([1, 2, 3], restored.Find(new ClientId(9))!.Result);
    }
}

public class ClientSessionTests
{
    private static readonly UInt128 Cluster = 5;

    private static Reply ReplyTo(ClientSession session, ulong number, ReplyStatus status, ulong view = 0) =>
        new(session.Id, number, status, new OpNumber(1), []) { Header = new MessageHeader(Cluster, 0, new View(view), new ReplicaIndex(0)) };

    [Fact]
    public void One_request_at_a_time_with_increasing_numbers()
    {
        var session = new ClientSession(Cluster, 3, new ClientId(77));
        Assert.Throws<InvalidOperationException>(() => session.Submit([1]));
        session.Register();
        Assert.Equal(ClientEventKind.Registered, session.Step(ReplyTo(session, 0, ReplyStatus.Ok))!.Value.Kind);

        Assert.Equal(1UL, session.Submit([1]));
        Assert.Throws<InvalidOperationException>(() => session.Submit([2]));
        Assert.Null(session.Step(ReplyTo(session, 0, ReplyStatus.Ok)));
        Assert.Equal(ClientEventKind.Completed, session.Step(ReplyTo(session, 1, ReplyStatus.Ok))!.Value.Kind);
        Assert.Equal(2UL, session.Submit([2]));
    }

    [Fact]
    public void A_late_reply_makes_it_resend_to_every_replica_and_a_new_view_redirects_it()
    {
        var session = new ClientSession(Cluster, 3, new ClientId(77), requestTimeoutTicks: 5);
        session.Register();
        Assert.Equal(new ReplicaIndex(0), session.TakeOutbox().Single().To);

        for (var i = 0; i < 5; i++)
        {
            session.Tick();
        }

        Assert.Equal(3, session.TakeOutbox().Count);
        session.Step(ReplyTo(session, 0, ReplyStatus.NotPrimary, view: 4));
        Assert.Equal(new ReplicaIndex(1), session.TakeOutbox().Single().To);
        Assert.Equal(new View(4), session.View);
    }

    [Fact]
    public void Eviction_ends_the_session_with_its_reason()
    {
        var session = new ClientSession(Cluster, 3, new ClientId(77));
        session.Register();
        session.Step(ReplyTo(session, 0, ReplyStatus.Ok));
        session.Submit([1]);
        Assert.Equal(ClientEventKind.Ended, session.Step(ReplyTo(session, 0, ReplyStatus.Evicted))!.Value.Kind);
        Assert.Equal(ClientSessionState.Ended, session.State);
        Assert.Equal(ReplyStatus.Evicted, session.EndReason);
    }

    [Fact]
    public void A_session_can_start_at_a_known_view_and_a_too_large_request_ends_without_ending_the_session()
    {
        var session = new ClientSession(Cluster, 3, new ClientId(77), initialView: new View(5));
        session.Register();
        Assert.Equal(new ReplicaIndex(2), session.TakeOutbox().Single().To);
        session.Step(ReplyTo(session, 0, ReplyStatus.Ok, view: 5));
        session.Submit(new byte[10]);

        var tooLarge = session.Step(ReplyTo(session, 1, ReplyStatus.TooLarge, view: 5))!.Value;
        Assert.Equal(ClientEventKind.Completed, tooLarge.Kind);
        Assert.Equal(ReplyStatus.TooLarge, tooLarge.Status);
        Assert.Equal(ClientSessionState.Idle, session.State);
    }
}
