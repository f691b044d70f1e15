namespace Viewstamped.Simulation.Linearizability;

/// <summary>The answer of the linearizability checker.</summary>
public enum Verdict
{
    /// <summary>Some total order of the operations respects real time and the model.</summary>
    Linearizable,

    /// <summary>No order of the operations respects both real time and the model.</summary>
    NotLinearizable,

    /// <summary>The search ran out of budget before reaching an answer.</summary>
    Unknown,
}

/// <summary>Limits on the work the checker may do; it answers <see cref="Verdict.Unknown"/> when a limit is hit.</summary>
/// <param name="MaxSteps">The most search steps (over all partitions) before giving up.</param>
/// <param name="ShouldStop">Polled every few thousand steps; returning <see langword="true"/> stops the search (for example on a caller's deadline).</param>
public sealed record CheckBudget(long MaxSteps = long.MaxValue, Func<bool>? ShouldStop = null)
{
    /// <summary>Gets a budget with no limit at all.</summary>
    public static CheckBudget Unlimited { get; } = new();
}

/// <summary>The outcome of a linearizability check.</summary>
/// <param name="Verdict">Whether the history is linearizable.</param>
/// <param name="Steps">The search steps used, over all partitions.</param>
/// <param name="FailingPartition">For <see cref="Verdict.NotLinearizable"/>, the sub-history (partition) that has no linearization; otherwise <see langword="null"/>.</param>
public sealed record CheckResult(Verdict Verdict, long Steps, IReadOnlyList<Operation>? FailingPartition)
{
    /// <summary>Gets a value indicating whether the verdict is <see cref="Verdict.Linearizable"/>.</summary>
    public bool IsLinearizable => Verdict == Verdict.Linearizable;
}

/// <summary>
/// Decides whether a concurrent history is linearizable with respect to a sequential model, using the
/// Wing–Gong/Lowe search with Porcupine's refinements. Deterministic and single-threaded.
/// </summary>
/// <remarks>
/// The search walks a doubly linked list of call and return entries in real-time order, linearizes a call as soon
/// as the model accepts it (lifting it and its return out of the list), backtracks when it reaches a return whose
/// call is not yet linearized, and memoizes every (linearized-set, state) pair it has reached so no configuration is
/// explored twice. Each partition returned by <see cref="IModel{TState}.Partition"/> is searched on its own.
/// An operation that never returned (<see cref="Operation.NeverReturned"/>) may take effect at any point after its
/// call or not at all: the search tries such operations only after the ones that returned, only where they change
/// the state, and stops with success once every operation that returned is linearized.
/// </remarks>
public static class LinearizabilityChecker
{
    private const long pollInterval = 4096;

    /// <summary>Checks <paramref name="history"/> against <paramref name="model"/>, one partition at a time.</summary>
    /// <typeparam name="TState">The model's state type.</typeparam>
    /// <param name="model">The sequential specification.</param>
    /// <param name="history">The operations; call times must not exceed return times.</param>
    /// <param name="budget">Optional limits on the search; unlimited when omitted.</param>
    /// <returns>The verdict, the steps used and, when not linearizable, the failing partition.</returns>
    /// <exception cref="ArgumentException">An operation returns before it is called.</exception>
    public static CheckResult Check<TState>(IModel<TState> model, IReadOnlyList<Operation> history, CheckBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(history);
        foreach (var operation in history)
        {
            if (operation.Return < operation.Call)
            {
                throw new ArgumentException($"Operation {operation} returns before it is called.", nameof(history));
            }
        }

        var search = new Search<TState>(model, budget ?? CheckBudget.Unlimited);
        foreach (var partition in model.Partition(history))
        {
            var verdict = search.Run(partition);
            if (verdict != Verdict.Linearizable)
            {
                return new CheckResult(verdict, search.Steps, verdict == Verdict.NotLinearizable ? partition : null);
            }
        }

        return new CheckResult(Verdict.Linearizable, search.Steps, null);
    }

    /// <summary>One node of the doubly linked list of call and return entries, in real-time order.</summary>
    private sealed class Entry
    {
        public required int Id { get; init; }

        public required long Time { get; init; }

        /// <summary>Gets the operation for a call entry; null for return entries and the list head.</summary>
        public Operation? Operation { get; init; }

        /// <summary>Gets or sets the return entry matching a call entry.</summary>
        public Entry? Match { get; set; }

        public Entry? Prev { get; set; }

        public Entry? Next { get; set; }

        public bool IsCall => Operation is not null;
    }

    /// <summary>A visited search configuration: which operations are linearized, and the state they lead to.</summary>
    private readonly record struct Visited<TState>(ulong[] Linearized, int Hash, TState State);

    private sealed class VisitedComparer<TState>(IModel<TState> model) : IEqualityComparer<Visited<TState>>
    {
        public bool Equals(Visited<TState> x, Visited<TState> y) =>
            x.Hash == y.Hash && x.Linearized.AsSpan().SequenceEqual(y.Linearized) && model.StateEquals(x.State, y.State);

        public int GetHashCode(Visited<TState> obj) => obj.Hash;
    }

    private sealed class Search<TState>(IModel<TState> model, CheckBudget budget)
    {
        public long Steps { get; private set; }

        public Verdict Run(IReadOnlyList<Operation> operations)
        {
            var count = operations.Count;
            if (count == 0)
            {
                return Verdict.Linearizable;
            }

            var head = BuildList(operations);
            var linearized = new ulong[(count + 63) / 64];
            var visited = new HashSet<Visited<TState>>(new VisitedComparer<TState>(model));
            var calls = new Stack<(Entry Call, TState State, bool Deferred)>();
            var state = model.Init();
            var entry = head.Next!;

            // The candidates for the next linearization point are the calls before the first return entry.
            // They are tried in two passes: first operations that returned, then (deferred) operations that
            // never returned, which could take effect anywhere later and are rarely the right choice now.
            var deferred = false;

            while (true)
            {
                Steps++;
                if (Steps > budget.MaxSteps || (Steps % pollInterval == 0 && budget.ShouldStop?.Invoke() == true))
                {
                    return Verdict.Unknown;
                }

                if (entry.IsCall)
                {
                    var operation = entry.Operation!;
                    if (operation.HasReturned == deferred)
                    {
                        // Not a candidate in this pass.
                        entry = entry.Next!;
                        continue;
                    }

                    // An operation that never returned is only worth linearizing where it changes the state:
                    // where it does not, leaving it out (it may never take effect) keeps strictly more options.
                    var (ok, next) = model.Step(state, operation);
                    if (ok && (operation.HasReturned || !model.StateEquals(state, next)))
                    {
                        // Probe with the live bitset; copy it only when the configuration is new.
                        Flip(linearized, entry.Id);
                        var probe = new Visited<TState>(linearized, HashCode.Combine(Hash(linearized), model.StateHashCode(next)), next);
                        if (!visited.Contains(probe))
                        {
                            visited.Add(probe with { Linearized = (ulong[])linearized.Clone() });

                            // Linearize this operation now and restart from the first pending entry.
                            calls.Push((entry, state, deferred));
                            state = next;
                            Lift(entry);
                            if (head.Next is null)
                            {
                                return Verdict.Linearizable;
                            }

                            entry = head.Next;
                            deferred = false;
                            continue;
                        }

                        Flip(linearized, entry.Id);
                    }

                    entry = entry.Next!;
                }
                else if (entry.Time == Operation.NeverReturned)
                {
                    // Every operation that returned is linearized; the rest may never have taken effect.
                    return Verdict.Linearizable;
                }
                else if (!deferred)
                {
                    deferred = true;
                    entry = head.Next!;
                }
                else
                {
                    // An operation returned before being linearized: undo the most recent choice.
                    if (calls.Count == 0)
                    {
                        return Verdict.NotLinearizable;
                    }

                    var (call, previous, pass) = calls.Pop();
                    state = previous;
                    Flip(linearized, call.Id);
                    Unlift(call);
                    entry = call.Next!;
                    deferred = pass;
                }
            }
        }

        private static Entry BuildList(IReadOnlyList<Operation> operations)
        {
            var entries = new List<Entry>(operations.Count * 2);
            for (var i = 0; i < operations.Count; i++)
            {
                var operation = operations[i];
                var ret = new Entry { Id = i, Time = operation.Return };
                entries.Add(new Entry { Id = i, Time = operation.Call, Operation = operation, Match = ret });
                entries.Add(ret);
            }

            // Real-time order; at equal times calls come first so touching intervals count as concurrent.
            entries.Sort(static (a, b) =>
            {
                var byTime = a.Time.CompareTo(b.Time);
                if (byTime != 0)
                {
                    return byTime;
                }

                if (a.IsCall != b.IsCall)
                {
                    return a.IsCall ? -1 : 1;
                }

                return a.Id.CompareTo(b.Id);
            });

            var head = new Entry { Id = -1, Time = long.MinValue };
            var previous = head;
            foreach (var entry in entries)
            {
                previous.Next = entry;
                entry.Prev = previous;
                previous = entry;
            }

            return head;
        }

        private static void Lift(Entry call)
        {
            call.Prev!.Next = call.Next;
            call.Next!.Prev = call.Prev;
            var ret = call.Match!;
            ret.Prev!.Next = ret.Next;
            ret.Next?.Prev = ret.Prev;
        }

        private static void Unlift(Entry call)
        {
            var ret = call.Match!;
            ret.Prev!.Next = ret;
            ret.Next?.Prev = ret;

            call.Prev!.Next = call;
            call.Next!.Prev = call;
        }

        private static void Flip(ulong[] bits, int id) => bits[id >> 6] ^= 1UL << (id & 63);

        private static int Hash(ulong[] bits)
        {
            var hash = 17UL;
            foreach (var word in bits)
            {
                hash = (hash ^ word) * 0x9E3779B97F4A7C15UL;
            }

            return (int)(hash ^ (hash >> 32));
        }
    }
}
