using System.Text;
using Viewstamped.Simulation.Linearizability;
using Viewstamped.Simulation.Workload;

namespace Viewstamped.Simulation.Tests.Vopr;

public class WorkloadTests
{
    [Fact]
    public void The_service_gets_puts_appends_and_compares_and_sets()
    {
        var service = new KeyValueService();
        Assert.Empty(Execute(service, new KvCommand(1, 1, KvFunction.Get, 2)));
        Execute(service, new KvCommand(1, 2, KvFunction.Put, 2, "a"));
        Execute(service, new KvCommand(1, 3, KvFunction.Append, 2, "bc"));
        Assert.Equal("abc", Encoding.UTF8.GetString(Execute(service, new KvCommand(1, 4, KvFunction.Get, 2))));
        Assert.Equal([0], Execute(service, new KvCommand(1, 5, KvFunction.Cas, 2, "x", Expected: "zz")));
        Assert.Equal([1], Execute(service, new KvCommand(1, 6, KvFunction.Cas, 2, "x", Expected: "abc")));
        Assert.Equal("x", Encoding.UTF8.GetString(service.ValueOf(2)));
        Assert.Equal(5, Samples.Adder.Decode(Execute(service, new KvCommand(2, 1, KvFunction.Add, 0, Addend: 5))));
        Assert.Equal(12, Samples.Adder.Decode(Execute(service, new KvCommand(2, 2, KvFunction.Add, 0, Addend: 7))));
        Assert.Null(service.Violation);
    }

    [Fact]
    public void The_service_notices_an_operation_executed_twice()
    {
        var service = new KeyValueService();
        Execute(service, new KvCommand(3, 1, KvFunction.Append, 0, "a"));
        Execute(service, new KvCommand(3, 2, KvFunction.Append, 0, "b"));
        Execute(service, new KvCommand(3, 2, KvFunction.Append, 0, "b"));

        Assert.Equal("operation 2 of process 3 executed twice", service.Violation);
    }

    [Fact]
    public void A_checkpoint_restores_the_values_the_total_the_hash_and_the_duplicate_detection()
    {
        var service = new KeyValueService();
        Execute(service, new KvCommand(1, 1, KvFunction.Put, 0, "v"));
        Execute(service, new KvCommand(1, 2, KvFunction.Add, 0, Addend: 9));
        var checkpoint = service.WriteCheckpoint();

        var restored = new KeyValueService();
        restored.RestoreCheckpoint(checkpoint);
        Assert.Equal(service.StateHash, restored.StateHash);
        Assert.Equal(9, restored.Total);
        Assert.Equal("v", Encoding.UTF8.GetString(restored.ValueOf(0)));
        Assert.Equal(checkpoint, restored.WriteCheckpoint());

        Execute(restored, new KvCommand(1, 2, KvFunction.Add, 0, Addend: 9));
        Assert.NotNull(restored.Violation);
    }

    [Fact]
    public void The_state_hash_follows_the_executed_operations()
    {
        var a = new KeyValueService();
        var b = new KeyValueService();
        Execute(a, new KvCommand(1, 1, KvFunction.Put, 0, "x"));
        Execute(b, new KvCommand(1, 1, KvFunction.Put, 0, "y"));
        Assert.NotEqual(a.StateHash, b.StateHash);
    }

    [Fact]
    public void The_adder_model_accepts_totals_in_some_order_and_refuses_impossible_ones()
    {
        Operation Add(int process, long call, long ret, int addend, int? total) =>
            new(process, call, ret, new OperationInput(OperationKind.Append, "adder", addend.ToString(System.Globalization.CultureInfo.InvariantCulture)), total?.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var concurrent = new[] { Add(0, 0, 3, 5, 12), Add(1, 1, 2, 7, 7) };
        Assert.Equal(Verdict.Linearizable, LinearizabilityChecker.Check(AdderModel.Instance, concurrent).Verdict);

        var sequentialWrong = new[] { Add(0, 0, 1, 5, 5), Add(1, 2, 3, 7, 7) };
        Assert.Equal(Verdict.NotLinearizable, LinearizabilityChecker.Check(AdderModel.Instance, sequentialWrong).Verdict);

        var lostThenSeen = new[] { Add(0, 0, Operation.NeverReturned, 5, null), Add(1, 2, 3, 7, 12) };
        Assert.Equal(Verdict.Linearizable, LinearizabilityChecker.Check(AdderModel.Instance, lostThenSeen).Verdict);
    }

    [Fact]
    public void A_calm_run_records_a_complete_linearizable_history()
    {
        var run = new SimulationRun(new SimulationOptions { Seed = 11, Faults = FaultProfile.None, Clients = 5, RequestsPerClient = 80 });
        var result = run.Run();

        Assert.True(result.Passed, result.Message);
        Assert.Equal(Verdict.Linearizable, result.Linearizability);
        Assert.Equal(400, result.RequestsInvoked);
        Assert.Equal(400, result.RequestsCompleted);
        var history = run.Workload.History;
        Assert.Equal(history.Count(e => e.Type == HistoryEventType.Invoke), history.Count(e => e.Type != HistoryEventType.Invoke));
        Assert.Contains(history, e => e.Kind == OperationKind.Cas && e.Type == HistoryEventType.Ok);
        Assert.Contains(history, e => e.Kind == OperationKind.Cas && e.Type == HistoryEventType.Fail);
        Assert.Contains(history, e => e.Kind == OperationKind.Append);
        Assert.NotEmpty(run.Workload.Adds);
        Assert.True(History.ToOperations(history).Success);

        var operations = run.Workload.Operations;
        Assert.Equal(400, operations.Count);
        Assert.All(operations, op => Assert.True(op.CompletedAt >= op.InvokedAt && op.Outcome is OperationOutcome.Ok or OperationOutcome.Failed));
        Assert.Equal(operations.Count(op => op.Outcome == OperationOutcome.Failed), history.Count(e => e.Type == HistoryEventType.Fail));
        Assert.All(operations.Where(op => op.Command.Function == KvFunction.Add), op => Assert.NotNull(op.Result));
    }

    [Fact]
    public void The_history_round_trips_through_the_edn_writer_and_parser()
    {
        var run = new SimulationRun(new SimulationOptions { Seed = 12, Faults = FaultProfile.All, RequestsPerClient = 50 });
        Assert.True(run.Run().Passed);
        using var text = new StringWriter();
        EdnHistoryWriter.Write(text, run.Workload.History);
        var parsed = EdnHistoryParser.Parse(text.ToString());

        Assert.True(parsed.Success);
        Assert.Equal(run.Workload.History.Count, parsed.Value.Count);
        var operations = History.ToOperations(parsed.Value);
        Assert.Equal(Verdict.Linearizable, LinearizabilityChecker.Check(KeyValueModel.Instance, operations.Value!).Verdict);
    }

    [Fact]
    public void A_crashed_client_leaves_its_operation_open_and_its_slot_restarts_as_a_new_process()
    {
        var mix = new FaultMix { ClientCrashRate = 0.05, ClientDownTicksMax = 20 };
        var run = new SimulationRun(new SimulationOptions { Seed = 13, FaultMix = mix, RequestsPerClient = 60 });
        var result = run.Run();

        Assert.True(result.Passed, result.Message);
        Assert.True(result.ClientCrashes > 0);
        Assert.Equal(result.RequestsUnknown, run.Workload.Operations.Count(op => op.Outcome == OperationOutcome.Unknown && op.CompletedAt is null));
        var processes = run.Workload.History.Select(e => e.Process).Distinct().Count();
        Assert.True(processes > run.Options.Clients, "restarted slots use new processes");
    }

    [Fact]
    public void Unknown_operations_nobody_saw_are_left_out_of_the_check_without_changing_its_verdict()
    {
        var mix = new FaultMix { ClientCrashRate = 0.02, ClientDownTicksMax = 5, Drop = 0.05, DelayMax = 4 };
        var run = new SimulationRun(new SimulationOptions { Seed = 14, FaultMix = mix, RequestsPerClient = 150, CheckLinearizability = false });
        Assert.True(run.Run().Passed);

        var all = run.Workload.KeyValueOperations(dropUnobserved: false);
        var kept = run.Workload.KeyValueOperations();
        Assert.Equal(all.Count(o => o.HasReturned), kept.Count(o => o.HasReturned));
        Assert.True(kept.Count < all.Count, "some unknown operations were never observed");
        Assert.All(kept, o => Assert.Contains(o, all));
        Assert.Equal(Verdict.Linearizable, LinearizabilityChecker.Check(KeyValueModel.Instance, kept).Verdict);
        Assert.NotEqual(Verdict.NotLinearizable, LinearizabilityChecker.Check(KeyValueModel.Instance, all, new CheckBudget(2_000_000)).Verdict);
    }

    [Theory]
    [InlineData(15ul)]
    [InlineData(16ul)]
    public void The_operations_for_the_checker_are_those_of_the_recorded_history(ulong seed)
    {
        // Client crashes leave operations open, drops make compare-and-sets fail: every kind of completion occurs.
        var mix = new FaultMix { ClientCrashRate = 0.02, ClientDownTicksMax = 5, Drop = 0.05, DelayMax = 4 };
        var run = new SimulationRun(new SimulationOptions { Seed = seed, FaultMix = mix, RequestsPerClient = 120, CheckLinearizability = false });
        Assert.True(run.Run().Passed);
        var history = run.Workload.History;
        Assert.Contains(history, e => e.Type == HistoryEventType.Info);
        Assert.Contains(history, e => e.Type == HistoryEventType.Fail);

        var fromHistory = History.ToOperations(history);
        Assert.True(fromHistory.Success, fromHistory.Error);
        Assert.Equal(fromHistory.Value, run.Workload.KeyValueOperations(dropUnobserved: false));
    }

    private static byte[] Execute(KeyValueService service, KvCommand command) => service.Execute(command.Encode(), []);
}
