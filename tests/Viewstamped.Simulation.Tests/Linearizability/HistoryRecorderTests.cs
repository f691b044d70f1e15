using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Tests.Linearizability;

public class HistoryRecorderTests
{
    [Fact]
    public async Task Concurrent_callers_record_a_well_formed_history()
    {
        var recorder = new HistoryRecorder();
        const int processes = 8;
        const int perProcess = 200;
        var callers = Enumerable.Range(0, processes).Select(p => Task.Run(() =>
        {
            for (var i = 0; i < perProcess; i++)
            {
                var value = $"{p}-{i}";
                recorder.Record(new HistoryEvent(p, HistoryEventType.Invoke, OperationKind.Write, $"k{p}", value));
                recorder.Record(new HistoryEvent(p, HistoryEventType.Ok, OperationKind.Write, $"k{p}", value));
            }
        }));
        await Task.WhenAll(callers);

        var (result, operations) = recorder.Check(KeyValueModel.Instance);
        Assert.Equal(processes * perProcess, operations);
        Assert.Equal(2 * processes * perProcess, recorder.Count);
        Assert.True(result.IsLinearizable);
    }

    [Fact]
    public void A_run_is_recorded_consecutively_and_checked()
    {
        var recorder = new HistoryRecorder();
        recorder.Record(new HistoryEvent(0, HistoryEventType.Invoke, OperationKind.Write, "k", "1"));
        recorder.RecordWrite(new HistoryEvent(0, HistoryEventType.Ok, OperationKind.Write, "k", "1"), invoked: 10, acknowledged: 20);
        recorder.Record(
        [
            new HistoryEvent(1, HistoryEventType.Invoke, OperationKind.Read, "k", null),
            new HistoryEvent(1, HistoryEventType.Ok, OperationKind.Read, "k", "2"),
        ]);

        Assert.Equal([HistoryEventType.Invoke, HistoryEventType.Ok, HistoryEventType.Invoke, HistoryEventType.Ok], recorder.Snapshot().Select(e => e.Type));
        var (result, operations) = recorder.Check(KeyValueModel.Instance);
        Assert.Equal(2, operations);
        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
    }

    [Fact]
    public void First_write_acknowledged_after_a_time_is_the_earliest_acknowledgement_of_a_later_invocation()
    {
        var recorder = new HistoryRecorder();
        Assert.Null(recorder.FirstWriteAcknowledgedAfter(0));
        recorder.RecordWrite(new HistoryEvent(0, HistoryEventType.Ok, OperationKind.Write, "k", "a"), invoked: 5, acknowledged: 50);
        recorder.RecordWrite(new HistoryEvent(1, HistoryEventType.Ok, OperationKind.Write, "k", "b"), invoked: 20, acknowledged: 40);
        recorder.RecordWrite(new HistoryEvent(2, HistoryEventType.Ok, OperationKind.Write, "k", "c"), invoked: 30, acknowledged: 45);

        Assert.Equal(40, recorder.FirstWriteAcknowledgedAfter(4));
        Assert.Equal(40, recorder.FirstWriteAcknowledgedAfter(10));
        Assert.Equal(45, recorder.FirstWriteAcknowledgedAfter(20));
        Assert.Null(recorder.FirstWriteAcknowledgedAfter(30));
    }

    [Fact]
    public void A_malformed_history_is_the_callers_bug()
    {
        var recorder = new HistoryRecorder();
        recorder.Record(new HistoryEvent(0, HistoryEventType.Ok, OperationKind.Write, "k", "1"));
        var error = Assert.Throws<InvalidOperationException>(() => recorder.Check(KeyValueModel.Instance));
        Assert.Contains("never invoked", error.Message, StringComparison.Ordinal);
    }
}
