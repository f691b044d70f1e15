using System.Numerics;

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

    /// <summary>
    /// One node of the doubly linked list of call and return entries, in real-time order. Nodes live in
    /// one array and link by index (<see cref="Search{TState}.None"/> for no node), so a search of a long
    /// history allocates a few arrays, not two objects per operation for the garbage collector to trace.
    /// </summary>
    private struct Entry
    {
        /// <summary>The operation's index in its partition.</summary>
        public int Id;

        public long Time;

        public bool IsCall;

        /// <summary>For a call entry, the index of its return entry.</summary>
        public int Match;

        public int Prev;

        public int Next;
    }

    /// <summary>Real-time order; at equal times calls come first so touching intervals count as concurrent.</summary>
    private readonly struct RealTimeOrder : IComparer<Entry>
    {
        public int Compare(Entry a, Entry b)
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
        }
    }

    /// <summary>
    /// A visited search configuration: which operations are linearized, and the state they lead to. The
    /// set is encoded exactly and canonically in machine words: every operation below <c>Low</c> is
    /// linearized and <c>Low</c> itself is not; <c>Window</c> holds the operations <c>Low + 1</c> to
    /// <c>Low + 64</c>; and only when some linearized operation lies beyond that (an operation that
    /// never returned can hold <c>Low</c> down) does <c>Rest</c> carry a copy of the whole set.
    /// </summary>
    private readonly record struct Visited<TState>(int Low, ulong Window, ulong[]? Rest, int Hash, TState State);

    private sealed class VisitedComparer<TState>(IModel<TState> model) : IEqualityComparer<Visited<TState>>
    {
        public bool Equals(Visited<TState> x, Visited<TState> y) =>
            x.Hash == y.Hash && x.Low == y.Low && x.Window == y.Window
            && (x.Rest is null ? y.Rest is null : y.Rest is not null && x.Rest.AsSpan().SequenceEqual(y.Rest))
            && model.StateEquals(x.State, y.State);

        public int GetHashCode(Visited<TState> obj) => obj.Hash;
    }

    /// <summary>
    /// The set of linearized operations as a bitset, with what the memo needs kept up to date on every
    /// flip: a Zobrist hash (the XOR of a fixed random word per member), the member count and the lowest
    /// non-member. A probe therefore costs a few word operations, not a pass over the whole set.
    /// </summary>
    private sealed class LinearizedSet(int count)
    {
        private readonly ulong[] bits = new ulong[(count + 64) / 64 + 1];
        private int members;
        private int low;
        private ulong hash;

        public void Flip(int id)
        {
            var mask = 1UL << (id & 63);
            bits[id >> 6] ^= mask;
            hash ^= Zobrist(id);
            if ((bits[id >> 6] & mask) != 0)
            {
                members++;
                if (id == low)
                {
                    AdvanceLow();
                }
            }
            else
            {
                members--;
                low = Math.Min(low, id);
            }
        }

        public Visited<TState> Probe<TState>(TState state, int stateHash)
        {
            var window = Window();
            var fits = low + BitOperations.PopCount(window) == members;
            return new Visited<TState>(low, window, fits ? null : bits, HashCode.Combine(hash, stateHash), state);
        }

        /// <summary>The probe to remember: its words are its own, so later flips cannot change it.</summary>
        public static Visited<TState> Keep<TState>(Visited<TState> probe) =>
            probe.Rest is null ? probe : probe with { Rest = (ulong[])probe.Rest.Clone() };

        private void AdvanceLow()
        {
            while (true)
            {
                var word = ~bits[low >> 6] >> (low & 63);
                if (word != 0)
                {
                    low += BitOperations.TrailingZeroCount(word);
                    return;
                }

                low = (low | 63) + 1;
            }
        }

        /// <summary>The members <c>low + 1</c> to <c>low + 64</c>, as one word.</summary>
        private ulong Window()
        {
            var from = low + 1;
            var index = from >> 6;
            var offset = from & 63;
            var word = index < bits.Length ? bits[index] >> offset : 0;
            if (offset != 0 && index + 1 < bits.Length)
            {
                word |= bits[index + 1] << (64 - offset);
            }

            return word;
        }

        private static ulong Zobrist(int id)
        {
            // SplitMix64 of the id: a fixed, well-spread word per operation.
            var z = ((ulong)id + 1) * 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    private sealed class Search<TState>(IModel<TState> model, CheckBudget budget)
    {
        /// <summary>No entry: the end of the list.</summary>
        public const int None = -1;

        /// <summary>The list head, a sentinel before every entry.</summary>
        private const int head = 0;

        // Reused from one partition to the next, so their storage is allocated once per check.
        private readonly HashSet<Visited<TState>> visited = new(new VisitedComparer<TState>(model));
        private readonly Stack<(int Call, TState State, bool Deferred)> calls = new();
        private Entry[] entries = [];

        public long Steps { get; private set; }

        public Verdict Run(IReadOnlyList<Operation> operations)
        {
            var count = operations.Count;
            if (count == 0)
            {
                return Verdict.Linearizable;
            }

            BuildList(operations);
            var list = entries;
            var linearized = new LinearizedSet(count);
            visited.Clear();
            calls.Clear();
            var state = model.Init();
            var entry = list[head].Next;

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

                ref var current = ref list[entry];
                if (current.IsCall)
                {
                    var operation = operations[current.Id];
                    if (operation.HasReturned == deferred)
                    {
                        // Not a candidate in this pass.
                        entry = current.Next;
                        continue;
                    }

                    // An operation that never returned is only worth linearizing where it changes the state:
                    // where it does not, leaving it out (it may never take effect) keeps strictly more options.
                    var (ok, next) = model.Step(state, operation);
                    if (ok && (operation.HasReturned || !model.StateEquals(state, next)))
                    {
                        // Probe with the live set; copy its words only when the configuration is new.
                        linearized.Flip(current.Id);
                        var probe = linearized.Probe(next, model.StateHashCode(next));
                        if (!visited.Contains(probe))
                        {
                            visited.Add(LinearizedSet.Keep(probe));

                            // Linearize this operation now and restart from the first pending entry.
                            calls.Push((entry, state, deferred));
                            state = next;
                            Lift(list, entry);
                            if (list[head].Next == None)
                            {
                                return Verdict.Linearizable;
                            }

                            entry = list[head].Next;
                            deferred = false;
                            continue;
                        }

                        linearized.Flip(current.Id);
                    }

                    entry = current.Next;
                }
                else if (current.Time == Operation.NeverReturned)
                {
                    // Every operation that returned is linearized; the rest may never have taken effect.
                    return Verdict.Linearizable;
                }
                else if (!deferred)
                {
                    deferred = true;
                    entry = list[head].Next;
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
                    linearized.Flip(list[call].Id);
                    Unlift(list, call);
                    entry = list[call].Next;
                    deferred = pass;
                }
            }
        }

        /// <summary>Lays the head and the call and return entries of <paramref name="operations"/> out in <see cref="entries"/>, linked in real-time order.</summary>
        private void BuildList(IReadOnlyList<Operation> operations)
        {
            var length = (operations.Count * 2) + 1;
            if (entries.Length < length)
            {
                entries = new Entry[length];
            }

            var list = entries.AsSpan(0, length);
            list[head] = new Entry { Id = None, Time = long.MinValue, Match = None };
            for (var i = 0; i < operations.Count; i++)
            {
                var operation = operations[i];
                list[(2 * i) + 1] = new Entry { Id = i, Time = operation.Call, IsCall = true, Match = None };
                list[(2 * i) + 2] = new Entry { Id = i, Time = operation.Return, Match = None };
            }

            list[1..].Sort(default(RealTimeOrder));

            // Link in order, and point each call at its return: a call sorts before its own return.
            var callAt = new int[operations.Count];
            for (var index = 0; index < length; index++)
            {
                ref var entry = ref list[index];
                entry.Prev = index - 1;
                entry.Next = index + 1 < length ? index + 1 : None;
                if (index == head)
                {
                    continue;
                }

                if (entry.IsCall)
                {
                    callAt[entry.Id] = index;
                }
                else
                {
                    list[callAt[entry.Id]].Match = index;
                }
            }
        }

        private static void Lift(Entry[] list, int call)
        {
            ref var entry = ref list[call];
            list[entry.Prev].Next = entry.Next;
            list[entry.Next].Prev = entry.Prev;
            ref var ret = ref list[entry.Match];
            list[ret.Prev].Next = ret.Next;
            if (ret.Next != None)
            {
                list[ret.Next].Prev = ret.Prev;
            }
        }

        private static void Unlift(Entry[] list, int call)
        {
            ref var entry = ref list[call];
            ref var ret = ref list[entry.Match];
            list[ret.Prev].Next = entry.Match;
            if (ret.Next != None)
            {
                list[ret.Next].Prev = entry.Match;
            }

            list[entry.Prev].Next = call;
            list[entry.Next].Prev = call;
        }
    }
}
