namespace Viewstamped.Simulation.Linearizability;

/// <summary>
/// A client history recorded by concurrent callers, such as the tasks of a load generator driving a
/// real cluster: every event is appended under one lock, so the order of the list is an order in
/// which the events really happened, which is what <see cref="History.ToOperations"/> takes as time.
/// </summary>
/// <remarks>
/// A caller records an invocation before it sends the request and the completion after the reply
/// arrives (<c>:ok</c>), after it learns the request never left (<c>:fail</c>), or when the outcome
/// stays unknown (<c>:info</c>). Beside the events the recorder keeps, for acknowledged writes, the
/// caller's timestamps of invocation and acknowledgement (any monotonic unit, such as
/// <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>), so a test or a demo can ask when the
/// first write after a fault committed. The simulator itself is single-threaded and records its
/// history directly; this type is for histories gathered outside it.
/// </remarks>
public sealed class HistoryRecorder
{
    private readonly Lock gate = new();
    private readonly List<HistoryEvent> events = [];
    private readonly List<(long Invoked, long Acknowledged)> writes = [];

    /// <summary>Gets the number of events recorded so far.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return events.Count;
            }
        }
    }

    /// <summary>Appends one event.</summary>
    /// <param name="e">The invocation or completion that just happened.</param>
    public void Record(HistoryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        lock (gate)
        {
            events.Add(e);
        }
    }

    /// <summary>Appends several events as one consecutive run, with no other caller's event among them.</summary>
    /// <param name="run">The events, in order (for example the invocations and completions of the reads one multi-key request made).</param>
    public void Record(IEnumerable<HistoryEvent> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        lock (gate)
        {
            events.AddRange(run);
        }
    }

    /// <summary>Appends the <c>:ok</c> completion of a write and remembers when the write was invoked and acknowledged.</summary>
    /// <param name="completion">The completion event.</param>
    /// <param name="invoked">The caller's timestamp taken when the write was invoked.</param>
    /// <param name="acknowledged">The caller's timestamp taken when its acknowledgement arrived.</param>
    public void RecordWrite(HistoryEvent completion, long invoked, long acknowledged)
    {
        ArgumentNullException.ThrowIfNull(completion);
        lock (gate)
        {
            events.Add(completion);
            writes.Add((invoked, acknowledged));
        }
    }

    /// <summary>Gets the earliest acknowledgement timestamp of a write invoked after <paramref name="since"/>.</summary>
    /// <param name="since">A timestamp in the unit the caller passed to <see cref="RecordWrite"/>.</param>
    /// <returns>The acknowledgement timestamp, or <see langword="null"/> when no such write has been acknowledged yet.</returns>
    public long? FirstWriteAcknowledgedAfter(long since)
    {
        lock (gate)
        {
            long? first = null;
            foreach (var (invoked, acknowledged) in writes)
            {
                if (invoked > since && (first is null || acknowledged < first))
                {
                    first = acknowledged;
                }
            }

            return first;
        }
    }

    /// <summary>Copies the events recorded so far.</summary>
    /// <returns>The events in the order they were recorded.</returns>
    public IReadOnlyList<HistoryEvent> Snapshot()
    {
        lock (gate)
        {
            return [.. events];
        }
    }

    /// <summary>Checks the events recorded so far for linearizability against <paramref name="model"/>.</summary>
    /// <typeparam name="TState">The model's state type.</typeparam>
    /// <param name="model">The sequential specification, such as <see cref="KeyValueModel.Instance"/>.</param>
    /// <param name="budget">Limits on the search; unlimited when omitted.</param>
    /// <returns>The checker's result and the number of operations it was given.</returns>
    /// <exception cref="InvalidOperationException">The events do not form a history (a process invoked twice without a completion, or completed what it never invoked): a bug of the caller.</exception>
    public (CheckResult Result, int Operations) Check<TState>(IModel<TState> model, CheckBudget? budget = null)
    {
        var operations = History.ToOperations(Snapshot());
        if (!operations.Success)
        {
            throw new InvalidOperationException($"the recorded history is malformed: {operations.Error}");
        }

        return (LinearizabilityChecker.Check(model, operations.Value, budget), operations.Value.Count);
    }
}
