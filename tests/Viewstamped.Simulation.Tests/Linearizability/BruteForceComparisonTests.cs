using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Tests.Linearizability;

/// <summary>Compares the checker with an exhaustive search on many small random histories.</summary>
public class BruteForceComparisonTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Checker_agrees_with_exhaustive_search(bool keyValue)
    {
        var random = new SplitMix(keyValue ? 7UL : 3UL);
        var verdicts = new int[2];
        for (var round = 0; round < 3000; round++)
        {
            var events = RandomHistory(random, keyValue);
            var converted = History.ToOperations(events);
            Assert.True(converted.Success, converted.Error);
            var operations = converted.Value!;

            var expected = keyValue ? Exhaustive(KeyValueModel.Instance, operations) : Exhaustive(RegisterModel.Instance, operations);
            var actual = keyValue
                ? LinearizabilityChecker.Check(KeyValueModel.Instance, operations).Verdict
                : LinearizabilityChecker.Check(RegisterModel.Instance, operations).Verdict;

            if ((actual == Verdict.Linearizable) != expected)
            {
                using var writer = new StringWriter();
                EdnHistoryWriter.Write(writer, events);
                Assert.Fail($"round {round}: checker says {actual}, exhaustive search says linearizable={expected}:\n{writer}");
            }

            verdicts[expected ? 1 : 0]++;
        }

        // The generator must exercise both outcomes.
        Assert.True(verdicts[0] > 150 && verdicts[1] > 150, $"not-linearizable {verdicts[0]}, linearizable {verdicts[1]}");
    }

    /// <summary>
    /// Tries every order that respects real time; operations that never returned may be placed anywhere after
    /// their call or left out.
    /// </summary>
    private static bool Exhaustive<TState>(IModel<TState> model, IReadOnlyList<Operation> operations)
    {
        var done = new bool[operations.Count];
        return Search(model.Init(), 0);

        bool Search(TState state, int completedDone)
        {
            if (completedDone == operations.Count(o => o.HasReturned))
            {
                return true;
            }

            for (var i = 0; i < operations.Count; i++)
            {
                if (done[i] || !IsMinimal(i))
                {
                    continue;
                }

                var (ok, next) = model.Step(state, operations[i]);
                if (!ok)
                {
                    continue;
                }

                done[i] = true;
                var found = Search(next, completedDone + (operations[i].HasReturned ? 1 : 0));
                done[i] = false;
                if (found)
                {
                    return true;
                }
            }

            return false;
        }

        bool IsMinimal(int candidate)
        {
            for (var j = 0; j < operations.Count; j++)
            {
                if (!done[j] && operations[j].Return < operations[candidate].Call)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Simulates clients of a real register (or single key): each operation takes effect at a random moment between
    /// its invocation and completion; some reads then report a wrong value, and some outcomes are lost (:info).
    /// </summary>
    private static List<HistoryEvent> RandomHistory(SplitMix random, bool keyValue)
    {
        const int processes = 3;
        var events = new List<HistoryEvent>();
        var invoked = new HistoryEvent?[processes];
        var applied = new bool[processes];
        var result = new string?[processes];
        var casSwapped = new bool[processes];
        var nextProcess = new int[processes];
        for (var p = 0; p < processes; p++)
        {
            nextProcess[p] = p;
        }

        string? value = keyValue ? string.Empty : null;
        var operationsLeft = 3 + random.Next(7);
        while (operationsLeft > 0 || invoked.Any(i => i is not null))
        {
            var slot = random.Next(processes);
            var invoke = invoked[slot];
            if (invoke is null)
            {
                if (operationsLeft == 0)
                {
                    continue;
                }

                operationsLeft--;
                var process = nextProcess[slot];
                var argument = random.Next(3).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var maxKind = keyValue ? 4 : 3;
                invoke = random.Next(maxKind) switch
                {
                    0 => new HistoryEvent(process, HistoryEventType.Invoke, OperationKind.Read, "k", null),
                    1 => new HistoryEvent(process, HistoryEventType.Invoke, OperationKind.Write, "k", argument),
                    2 => new HistoryEvent(process, HistoryEventType.Invoke, OperationKind.Cas, "k", argument, random.Next(4) == 0 ? null : random.Next(3).ToString(System.Globalization.CultureInfo.InvariantCulture)),
                    _ => new HistoryEvent(process, HistoryEventType.Invoke, OperationKind.Append, "k", argument),
                };
                invoked[slot] = invoke;
                applied[slot] = false;
                events.Add(invoke);
                continue;
            }

            var choice = random.Next(10);
            if (!applied[slot] && choice < 6)
            {
                // The linearization point.
                applied[slot] = true;
                result[slot] = value;
                casSwapped[slot] = false;
                switch (invoke.Kind)
                {
                    case OperationKind.Write:
                        value = invoke.Value;
                        break;
                    case OperationKind.Append:
                        value += invoke.Value;
                        break;
                    case OperationKind.Cas:
                        var current = keyValue ? value ?? string.Empty : value;
                        var expected = keyValue ? invoke.Expected ?? string.Empty : invoke.Expected;
                        if (current == expected)
                        {
                            value = invoke.Value;
                            casSwapped[slot] = true;
                        }

                        break;
                    default:
                        break;
                }

                continue;
            }

            if (choice == 9 || !applied[slot])
            {
                // Lost outcome: the operation may or may not have been applied.
                events.Add(invoke with { Type = HistoryEventType.Info, Value = invoke.Kind == OperationKind.Read ? null : invoke.Value });
                nextProcess[slot] += processes;
            }
            else if (invoke.Kind == OperationKind.Cas && !casSwapped[slot])
            {
                events.Add(invoke with { Type = HistoryEventType.Fail });
            }
            else if (invoke.Kind == OperationKind.Read)
            {
                var read = random.Next(5) == 0 ? random.Next(3).ToString(System.Globalization.CultureInfo.InvariantCulture) : result[slot];
                events.Add(invoke with { Type = HistoryEventType.Ok, Value = read });
            }
            else
            {
                events.Add(invoke with { Type = HistoryEventType.Ok });
            }

            invoked[slot] = null;
        }

        return events;
    }

    /// <summary>A small deterministic generator so failures are reproducible.</summary>
    private sealed class SplitMix(ulong seed)
    {
        private ulong state = seed;

        public int Next(int bound)
        {
            state += 0x9E3779B97F4A7C15UL;
            var z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (int)(z % (ulong)bound);
        }
    }
}
