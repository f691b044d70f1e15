using Viewstamped.Messages;
using static Viewstamped.Tests.Protocol.ReplicaHarness;

namespace Viewstamped.Tests.Protocol;

/// <summary>Handing a handled Ready back to its replica: reused empty, never twice, never the live one.</summary>
public class ReadyRecycleTests
{
    [Fact]
    public void A_handed_back_ready_comes_back_empty_from_a_later_take()
    {
        var backup = new ReplicaHarness(1);
        backup.Replica.Step(new Prepare(OpNumber.Zero, [Registration(1, 0)]) { Header = From(0, 0) });
        var handled = backup.Replica.TakeReady();
        Assert.NotEmpty(handled.LogChanges);
        Assert.NotEmpty(handled.Messages);
        backup.Storage.Persist(handled);

        backup.Replica.Recycle(handled);
        backup.Replica.TakeReady();
        backup.Replica.Step(new Commit(new OpNumber(1), new OpNumber(1)) { Header = From(0, 0) });
        var reused = backup.Replica.TakeReady();

        Assert.Same(handled, reused);
        Assert.Empty(reused.LogChanges);
        Assert.Empty(reused.Messages);
        Assert.Null(reused.HardState);
        Assert.Equal(new OpNumber(1), backup.Replica.CommitNumber);
    }

    [Fact]
    public void A_ready_is_handed_back_once()
    {
        var replica = new ReplicaHarness(0).Replica;
        var first = replica.TakeReady();
        replica.Recycle(first);

        Assert.Throws<InvalidOperationException>(() => replica.Recycle(first));
    }

    [Fact]
    public void Without_handing_back_every_take_is_a_new_ready()
    {
        var replica = new ReplicaHarness(0).Replica;
        var first = replica.TakeReady();
        var second = replica.TakeReady();

        Assert.NotSame(first, second);
    }

    [Fact]
    public void A_ready_that_was_taken_again_can_be_handed_back_again()
    {
        var replica = new ReplicaHarness(0).Replica;
        var ready = replica.TakeReady();
        replica.Recycle(ready);
        replica.TakeReady();
        var again = replica.TakeReady();

        Assert.Same(ready, again);
        replica.Recycle(again);
    }

    [Fact]
    public void Several_readies_handed_back_in_a_burst_are_all_reused()
    {
        var replica = new ReplicaHarness(0).Replica;
        var taken = Enumerable.Range(0, 4).Select(_ => replica.TakeReady()).ToList();
        foreach (var ready in taken)
        {
            replica.Recycle(ready);
        }

        replica.TakeReady(); // the one the replica was filling
        var reused = Enumerable.Range(0, 4).Select(_ => replica.TakeReady()).ToList();

        Assert.True(taken.ToHashSet(ReferenceEqualityComparer.Instance).SetEquals(reused), "every handed-back Ready is taken again");
        Assert.All(reused, ready => Assert.True(ready.IsEmpty));
    }
}
