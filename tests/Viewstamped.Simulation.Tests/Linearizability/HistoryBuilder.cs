using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Tests.Linearizability;

/// <summary>Builds small histories by hand; a completion reuses the kind and key of its process's invocation.</summary>
internal sealed class HistoryBuilder
{
    private readonly List<HistoryEvent> events = [];
    private readonly Dictionary<int, HistoryEvent> pending = [];

    public IReadOnlyList<HistoryEvent> Events => events;

    public HistoryBuilder Read(int process, string key = "") => Invoke(new(process, HistoryEventType.Invoke, OperationKind.Read, key, null));

    public HistoryBuilder Write(int process, string value, string key = "") => Invoke(new(process, HistoryEventType.Invoke, OperationKind.Write, key, value));

    public HistoryBuilder Append(int process, string value, string key = "") => Invoke(new(process, HistoryEventType.Invoke, OperationKind.Append, key, value));

    public HistoryBuilder Cas(int process, string? from, string? to, string key = "") => Invoke(new(process, HistoryEventType.Invoke, OperationKind.Cas, key, to, from));

    /// <summary>Completes the process's operation; <paramref name="value"/> is what a read returned.</summary>
    public HistoryBuilder Ok(int process, string? value = null) => Complete(process, HistoryEventType.Ok, value);

    public HistoryBuilder Fail(int process) => Complete(process, HistoryEventType.Fail, null);

    public HistoryBuilder Info(int process) => Complete(process, HistoryEventType.Info, null);

    public IReadOnlyList<Operation> Operations()
    {
        var result = History.ToOperations(events);
        Assert.True(result.Success, result.Describe("history"));
        return result.Value!;
    }

    public Verdict CheckRegister() => LinearizabilityChecker.Check(RegisterModel.Instance, Operations()).Verdict;

    public Verdict CheckKeyValue() => LinearizabilityChecker.Check(KeyValueModel.Instance, Operations()).Verdict;

    private HistoryBuilder Invoke(HistoryEvent e)
    {
        pending.Add(e.Process, e);
        events.Add(e with { Line = events.Count + 1 });
        return this;
    }

    private HistoryBuilder Complete(int process, HistoryEventType type, string? value)
    {
        var invoke = pending[process];
        pending.Remove(process);
        var completion = invoke.Kind == OperationKind.Read
            ? invoke with { Type = type, Value = value }
            : invoke with { Type = type };
        events.Add(completion with { Line = events.Count + 1 });
        return this;
    }
}
