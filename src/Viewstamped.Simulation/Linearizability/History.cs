namespace Viewstamped.Simulation.Linearizability;

/// <summary>Turns a list of invoke/complete events into the operations the checker works on.</summary>
public static class History
{
    /// <summary>
    /// Pairs every invocation with its process's next completion and returns the resulting operations,
    /// using each event's position in <paramref name="events"/> as its logical time.
    /// </summary>
    /// <remarks>
    /// An <c>:ok</c> completion gives a completed operation. A <c>:fail</c> completion means the operation did not
    /// happen, so it is dropped. An <c>:info</c> completion, or no completion at all, means the outcome is unknown:
    /// the operation gets <see cref="Operation.NeverReturned"/> as its return time, except reads, which are dropped
    /// because a read with no known result constrains nothing.
    /// </remarks>
    /// <param name="events">The events in the order they happened.</param>
    /// <returns>The operations ordered by call time, or an error naming the line of an event that does not fit.</returns>
    public static HistoryParseResult<IReadOnlyList<Operation>> ToOperations(IReadOnlyList<HistoryEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var pending = new Dictionary<int, (HistoryEvent Invoke, long Time)>();

        // About one invocation and one completion per operation: sized once, not regrown through a long history.
        var operations = new List<Operation>((events.Count / 2) + 1);

        for (var index = 0; index < events.Count; index++)
        {
            var e = events[index];
            if (e.Type == HistoryEventType.Invoke)
            {
                if (pending.TryGetValue(e.Process, out var previous))
                {
                    return HistoryParseResult<IReadOnlyList<Operation>>.Fail(
                        e.Line,
                        $"process {e.Process} invokes an operation while its {Name(previous.Invoke.Kind)} invoked {Where(previous.Invoke)} has not completed");
                }

                pending[e.Process] = (e, index);
                continue;
            }

            if (!pending.Remove(e.Process, out var invocation))
            {
                return HistoryParseResult<IReadOnlyList<Operation>>.Fail(
                    e.Line,
                    $"process {e.Process} completes a {Name(e.Kind)} it never invoked");
            }

            var invoke = invocation.Invoke;
            if (invoke.Kind != e.Kind || !string.Equals(invoke.Key, e.Key, StringComparison.Ordinal))
            {
                return HistoryParseResult<IReadOnlyList<Operation>>.Fail(
                    e.Line,
                    $"process {e.Process} completes a {Name(e.Kind)} on key \"{e.Key}\" but invoked a {Name(invoke.Kind)} on key \"{invoke.Key}\" {Where(invoke)}");
            }

            switch (e.Type)
            {
                case HistoryEventType.Ok:
                    operations.Add(Create(invoke, invocation.Time, index, e.Kind == OperationKind.Read ? e.Value : null));
                    break;
                case HistoryEventType.Info:
                    if (invoke.Kind != OperationKind.Read)
                    {
                        operations.Add(Create(invoke, invocation.Time, Operation.NeverReturned, null));
                    }

                    break;
                default:
                    // :fail: the operation did not happen.
                    break;
            }
        }

        foreach (var (invoke, time) in pending.Values)
        {
            if (invoke.Kind != OperationKind.Read)
            {
                operations.Add(Create(invoke, time, Operation.NeverReturned, null));
            }
        }

        operations.Sort(static (a, b) => a.Call.CompareTo(b.Call));
        return HistoryParseResult<IReadOnlyList<Operation>>.Ok(operations);
    }

    private static Operation Create(HistoryEvent invoke, long call, long ret, string? output) =>
        new(invoke.Process, call, ret, new OperationInput(invoke.Kind, invoke.Key, invoke.Value, invoke.Expected), output)
        {
            Line = invoke.Line,
        };

    private static string Where(HistoryEvent e) => e.Line > 0 ? $"on line {e.Line}" : "earlier";

    private static string Name(OperationKind kind) => kind switch
    {
        OperationKind.Read => "read",
        OperationKind.Write => "write",
        OperationKind.Append => "append",
        _ => "cas",
    };
}
