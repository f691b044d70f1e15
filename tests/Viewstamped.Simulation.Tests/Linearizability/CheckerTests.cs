using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Tests.Linearizability;

public class CheckerTests
{
    [Fact]
    public void Empty_history_is_linearizable()
    {
        Assert.Equal(Verdict.Linearizable, new HistoryBuilder().CheckRegister());
    }

    [Fact]
    public void Register_starts_nil()
    {
        Assert.Equal(Verdict.Linearizable, new HistoryBuilder().Read(0).Ok(0, null).CheckRegister());
        Assert.Equal(Verdict.NotLinearizable, new HistoryBuilder().Read(0).Ok(0, "0").CheckRegister());
    }

    [Fact]
    public void Sequential_write_then_read_is_linearizable()
    {
        var history = new HistoryBuilder().Write(0, "1").Ok(0).Read(1).Ok(1, "1");
        Assert.Equal(Verdict.Linearizable, history.CheckRegister());
    }

    [Fact]
    public void Stale_read_is_not_linearizable()
    {
        var history = new HistoryBuilder()
            .Write(0, "1").Ok(0)
            .Write(0, "2").Ok(0)
            .Read(1).Ok(1, "1");
        Assert.Equal(Verdict.NotLinearizable, history.CheckRegister());
    }

    [Fact]
    public void Read_concurrent_with_a_write_may_see_either_value()
    {
        var old = new HistoryBuilder().Write(0, "1").Ok(0).Write(0, "2").Read(1).Ok(1, "1").Ok(0);
        var @new = new HistoryBuilder().Write(0, "1").Ok(0).Write(0, "2").Read(1).Ok(1, "2").Ok(0);
        Assert.Equal(Verdict.Linearizable, old.CheckRegister());
        Assert.Equal(Verdict.Linearizable, @new.CheckRegister());
    }

    [Fact]
    public void Reads_must_agree_on_the_order_of_concurrent_writes()
    {
        // Two concurrent writes; one reader sees 1 then 2, the other sees 2 then 1: needs backtracking to refute.
        var history = new HistoryBuilder()
            .Write(0, "1").Write(1, "2")
            .Read(2).Ok(2, "1").Read(2).Ok(2, "2")
            .Read(3).Ok(3, "2").Read(3).Ok(3, "1")
            .Ok(0).Ok(1);
        Assert.Equal(Verdict.NotLinearizable, history.CheckRegister());
    }

    [Fact]
    public void Write_that_never_returned_may_take_effect_late()
    {
        var history = new HistoryBuilder()
            .Write(0, "1")
            .Read(1).Ok(1, null)
            .Read(1).Ok(1, "1");
        Assert.Equal(Verdict.Linearizable, history.CheckRegister());
    }

    [Fact]
    public void Write_that_never_returned_takes_effect_at_most_once()
    {
        var history = new HistoryBuilder()
            .Write(0, "1")
            .Read(1).Ok(1, "1")
            .Read(1).Ok(1, null);
        Assert.Equal(Verdict.NotLinearizable, history.CheckRegister());
    }

    [Fact]
    public void Info_write_may_never_take_effect()
    {
        var history = new HistoryBuilder()
            .Write(0, "1").Ok(0)
            .Write(1, "2").Info(1)
            .Read(2).Ok(2, "1")
            .Read(2).Ok(2, "1");
        Assert.Equal(Verdict.Linearizable, history.CheckRegister());
    }

    [Fact]
    public void Info_write_cannot_take_effect_before_it_was_invoked()
    {
        var history = new HistoryBuilder()
            .Read(2).Ok(2, "2")
            .Write(1, "2").Info(1);
        Assert.Equal(Verdict.NotLinearizable, history.CheckRegister());
    }

    [Fact]
    public void Failed_cas_is_dropped()
    {
        var failed = new HistoryBuilder().Write(0, "1").Ok(0).Cas(1, "1", "2").Fail(1).Read(2).Ok(2, "1");
        var succeeded = new HistoryBuilder().Write(0, "1").Ok(0).Cas(1, "1", "2").Ok(1).Read(2).Ok(2, "1");
        Assert.Equal(Verdict.Linearizable, failed.CheckRegister());
        Assert.Equal(Verdict.NotLinearizable, succeeded.CheckRegister());
    }

    [Fact]
    public void Successful_cas_requires_the_expected_value()
    {
        Assert.Equal(Verdict.Linearizable, new HistoryBuilder().Write(0, "1").Ok(0).Cas(0, "1", "2").Ok(0).Read(0).Ok(0, "2").CheckRegister());
        Assert.Equal(Verdict.NotLinearizable, new HistoryBuilder().Write(0, "1").Ok(0).Cas(0, "3", "2").Ok(0).CheckRegister());
        Assert.Equal(Verdict.Linearizable, new HistoryBuilder().Cas(0, null, "5").Ok(0).Read(0).Ok(0, "5").CheckRegister());
    }

    [Fact]
    public void Cas_with_unknown_outcome_may_or_may_not_have_happened()
    {
        var happened = new HistoryBuilder().Write(0, "1").Ok(0).Cas(1, "1", "2").Info(1).Read(2).Ok(2, "2");
        var notYet = new HistoryBuilder().Write(0, "1").Ok(0).Cas(1, "1", "2").Info(1).Read(2).Ok(2, "1");
        var undone = new HistoryBuilder().Write(0, "1").Ok(0).Cas(1, "1", "2").Info(1).Read(2).Ok(2, "2").Read(2).Ok(2, "1");
        Assert.Equal(Verdict.Linearizable, happened.CheckRegister());
        Assert.Equal(Verdict.Linearizable, notYet.CheckRegister());
        Assert.Equal(Verdict.NotLinearizable, undone.CheckRegister());
    }

    [Fact]
    public void Reads_with_unknown_outcome_are_dropped()
    {
        var history = new HistoryBuilder().Read(0).Info(0).Read(1).Fail(1).Read(2);
        Assert.Empty(history.Operations());
    }

    [Fact]
    public void Key_value_model_checks_keys_independently()
    {
        var history = new HistoryBuilder()
            .Append(0, "a", "x").Ok(0)
            .Append(1, "b", "y").Ok(1)
            .Append(0, "c", "x").Ok(0)
            .Read(2, "x").Ok(2, "ac")
            .Read(2, "y").Ok(2, "b")
            .Read(2, "z").Ok(2, "");
        Assert.Equal(Verdict.Linearizable, history.CheckKeyValue());

        var bad = new HistoryBuilder()
            .Append(0, "a", "x").Ok(0)
            .Write(1, "q", "y").Ok(1)
            .Read(2, "y").Ok(2, "q")
            .Read(2, "x").Ok(2, "");
        var result = LinearizabilityChecker.Check(KeyValueModel.Instance, bad.Operations());
        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.NotNull(result.FailingPartition);
        Assert.All(result.FailingPartition, op => Assert.Equal("x", op.Input.Key));
    }

    [Fact]
    public void Key_value_model_treats_nil_and_empty_alike()
    {
        var history = new HistoryBuilder()
            .Read(0, "k").Ok(0, null)
            .Read(0, "k").Ok(0, "")
            .Cas(0, null, "v", "k").Ok(0)
            .Read(0, "k").Ok(0, "v")
            .Cas(0, "v", "", "k").Ok(0)
            .Append(0, "w", "k").Ok(0)
            .Read(0, "k").Ok(0, "w");
        Assert.Equal(Verdict.Linearizable, history.CheckKeyValue());
    }

    [Fact]
    public void Key_value_cas_and_concurrent_appends()
    {
        // Two concurrent appends; the reads fix their order as b then a, so a cas expecting "ba" succeeds.
        var history = new HistoryBuilder()
            .Append(0, "a", "k").Append(1, "b", "k")
            .Read(2, "k").Ok(2, "b")
            .Ok(0).Ok(1)
            .Cas(2, "ba", "z", "k").Ok(2)
            .Read(2, "k").Ok(2, "z");
        Assert.Equal(Verdict.Linearizable, history.CheckKeyValue());

        var wrongOrder = new HistoryBuilder()
            .Append(0, "a", "k").Append(1, "b", "k")
            .Read(2, "k").Ok(2, "b")
            .Ok(0).Ok(1)
            .Cas(2, "ab", "z", "k").Ok(2);
        Assert.Equal(Verdict.NotLinearizable, wrongOrder.CheckKeyValue());
    }

    [Fact]
    public void Register_model_rejects_append()
    {
        Assert.Equal(Verdict.NotLinearizable, new HistoryBuilder().Append(0, "a").Ok(0).CheckRegister());
    }

    [Fact]
    public void Step_budget_exhaustion_gives_unknown()
    {
        var operations = ManyConcurrentWrites(8, finalRead: "none");
        var result = LinearizabilityChecker.Check(RegisterModel.Instance, operations, new CheckBudget(MaxSteps: 10));
        Assert.Equal(Verdict.Unknown, result.Verdict);
        Assert.Null(result.FailingPartition);
    }

    [Fact]
    public void Cancellation_gives_unknown()
    {
        var operations = ManyConcurrentWrites(12, finalRead: "none");
        var polls = 0;
        var result = LinearizabilityChecker.Check(RegisterModel.Instance, operations, new CheckBudget(ShouldStop: () => ++polls >= 1));
        Assert.Equal(Verdict.Unknown, result.Verdict);
        Assert.Equal(1, polls);
    }

    [Fact]
    public void Memoization_keeps_an_exhaustive_refutation_small()
    {
        // 14 concurrent writes and a read of a value nobody wrote: without memoization this is 14! orders.
        var operations = ManyConcurrentWrites(14, finalRead: "none");
        var result = LinearizabilityChecker.Check(RegisterModel.Instance, operations, new CheckBudget(MaxSteps: 20_000_000));
        Assert.Equal(Verdict.NotLinearizable, result.Verdict);

        var ok = LinearizabilityChecker.Check(RegisterModel.Instance, ManyConcurrentWrites(14, finalRead: "7"));
        Assert.Equal(Verdict.Linearizable, ok.Verdict);
    }

    [Fact]
    public void Checking_is_deterministic()
    {
        var operations = ManyConcurrentWrites(10, finalRead: "none");
        var first = LinearizabilityChecker.Check(RegisterModel.Instance, operations);
        var second = LinearizabilityChecker.Check(RegisterModel.Instance, operations);
        Assert.Equal(first.Verdict, second.Verdict);
        Assert.Equal(first.Steps, second.Steps);
    }

    [Fact]
    public void Operation_returning_before_its_call_is_rejected()
    {
        var bad = new Operation(0, 5, 4, new OperationInput(OperationKind.Write, string.Empty, "1"), null);
        Assert.Throws<ArgumentException>(() => LinearizabilityChecker.Check(RegisterModel.Instance, [bad]));
    }

    [Fact]
    public void Hand_built_operations_can_touch_at_equal_times()
    {
        // Intervals [0,1] and [1,2] share time 1 and therefore count as concurrent.
        var write = new Operation(0, 0, 1, new OperationInput(OperationKind.Write, string.Empty, "1"), null);
        var read = new Operation(1, 1, 2, new OperationInput(OperationKind.Read, string.Empty, null), null);
        Assert.Equal(Verdict.Linearizable, LinearizabilityChecker.Check(RegisterModel.Instance, [write, read]).Verdict);
    }

    private static List<Operation> ManyConcurrentWrites(int writers, string finalRead)
    {
        var builder = new HistoryBuilder();
        for (var p = 0; p < writers; p++)
        {
            builder.Write(p, p.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        for (var p = 0; p < writers; p++)
        {
            builder.Ok(p);
        }

        builder.Read(writers).Ok(writers, finalRead);
        return [.. builder.Operations()];
    }
}
