using System.IO.Hashing;
using System.Reflection;
using System.Text;
using Viewstamped.Messages;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary>Readies, entries and checkpoints for storage tests, and a deep comparison of durable states.</summary>
internal static class StorageTestData
{
    private static readonly PropertyInfo HardStateProperty = typeof(Ready).GetProperty(nameof(Viewstamped.Ready.HardState))!;
    private static readonly PropertyInfo CheckpointProperty = typeof(Ready).GetProperty(nameof(Viewstamped.Ready.Checkpoint))!;
    private static readonly PropertyInfo CompactBeforeProperty = typeof(Ready).GetProperty(nameof(Viewstamped.Ready.CompactBefore))!;

    /// <summary>
    /// A Ready with the given persistence part. The core sets HardState, Checkpoint and CompactBefore
    /// through internal setters; storage tests need them without a replica, so they go through reflection.
    /// </summary>
    public static Ready Ready(IEnumerable<LogChange>? changes = null, HardState? hardState = null, Checkpoint? checkpoint = null, OpNumber? compactBefore = null)
    {
        var ready = new Ready();
        ready.LogChanges.AddRange(changes ?? []);
        HardStateProperty.SetValue(ready, hardState);
        CheckpointProperty.SetValue(ready, checkpoint);
        CompactBeforeProperty.SetValue(ready, compactBefore);
        return ready;
    }

    public static Ready Appends(ulong from, ulong to, ulong view = 1, int size = 16) =>
        Ready(Enumerable.Range(0, (int)(to - from + 1)).Select(i => Append(Entry(from + (ulong)i, view, size))));

    /// <summary>An entry whose contents are a function of its op, view and size, so a reader can check them.</summary>
    public static LogEntry Entry(ulong op, ulong view = 1, int size = 16)
    {
        var operation = new byte[size];
        for (var i = 0; i < size; i++)
        {
            operation[i] = (byte)(op * 31 + view * 7 + (ulong)i);
        }

        return new LogEntry(new OpNumber(op), new View(view), EntryKind.Operation, new ClientId((UInt128)op << 64 | view), op, operation, op % 3 == 0 ? [(byte)op] : []);
    }

    public static LogChange Append(LogEntry entry) => new(LogChangeKind.Append, entry.Op, entry);

    public static LogChange TruncateAfter(ulong op) => new(LogChangeKind.TruncateAfter, new OpNumber(op), null);

    public static LogChange Reset(ulong op) => new(LogChangeKind.Reset, new OpNumber(op), null);

    public static HardState Hard(ulong view, ulong logView, ulong commit) => new(new View(view), new View(logView), new OpNumber(commit));

    public static Checkpoint Checkpoint(ulong op, int size = 64, byte salt = 0)
    {
        var state = Encoding.ASCII.GetBytes($"checkpoint {op} {salt} ").Concat(Enumerable.Range(0, size).Select(i => (byte)(i + (int)op + salt))).ToArray();
        return new Checkpoint(new OpNumber(op), state, XxHash64.HashToUInt64(state));
    }

    public static void AssertSameState(DurableState expected, DurableState actual, string context = "")
    {
        Assert.True(expected.HardState == actual.HardState, $"{context}: hard state {actual.HardState}, expected {expected.HardState}");
        Assert.True(expected.LogHead == actual.LogHead, $"{context}: log head {actual.LogHead}, expected {expected.LogHead}");
        Assert.True(expected.Checkpoint?.Op == actual.Checkpoint?.Op, $"{context}: checkpoint op {actual.Checkpoint?.Op}, expected {expected.Checkpoint?.Op}");
        if (expected.Checkpoint is { } checkpoint)
        {
            Assert.Equal(checkpoint.Checksum, actual.Checkpoint!.Checksum);
            Assert.Equal(checkpoint.State.ToArray(), actual.Checkpoint.State.ToArray());
        }

        Assert.True(expected.Entries.Count == actual.Entries.Count,
            $"{context}: {actual.Entries.Count} entries ({Describe(actual.Entries)}), expected {expected.Entries.Count} ({Describe(expected.Entries)})");
        for (var i = 0; i < expected.Entries.Count; i++)
        {
            Assert.True(expected.Entries[i].Equals(actual.Entries[i]), $"{context}: entry {i} is op {actual.Entries[i].Op}, expected op {expected.Entries[i].Op} (or contents differ)");
        }
    }

    /// <summary>The state without its uncertain-tail flags, for comparing with a reference that never tears.</summary>
    public static DurableState Certain(DurableState state) =>
        state with { HardState = state.HardState with { TailUncertain = false }, TailUncertain = false };

    public static bool SameState(DurableState expected, DurableState actual) =>
        expected.HardState == actual.HardState && expected.LogHead == actual.LogHead
        && expected.Checkpoint?.Op == actual.Checkpoint?.Op && expected.Checkpoint?.Checksum == actual.Checkpoint?.Checksum
        && expected.Entries.SequenceEqual(actual.Entries);

    public static string Describe(IReadOnlyList<LogEntry> entries) => entries.Count == 0 ? "none" : $"ops {entries[0].Op}..{entries[^1].Op}";

    /// <summary>A random but valid persistence history, the same for the same seed.</summary>
    public static IEnumerable<Ready> RandomHistory(ulong seed, int steps)
    {
        var prng = new Prng(seed);
        var head = 0UL;
        var view = 1UL;
        for (var step = 0; step < steps; step++)
        {
            var changes = new List<LogChange>();
            HardState? hard = null;
            Checkpoint? checkpoint = null;
            OpNumber? compact = null;
            var roll = prng.Below(100);
            if (roll < 45)
            {
                var count = prng.Between(1, 6);
                for (var i = 0; i < count; i++)
                {
                    changes.Add(Append(Entry(++head, view, prng.Between(0, 40))));
                }

                if (prng.Chance(0.5))
                {
                    hard = Hard(view, view, head - prng.Below(Math.Min(head, 3) + 1));
                }
            }
            else if (roll < 55)
            {
                var to = (head >= 5 ? head - prng.Below(6) : prng.Below(head + 1)) + (prng.Chance(0.1) ? 3UL : 0UL);
                changes.Add(TruncateAfter(to));
                head = Math.Min(head, to);
                view++;
                changes.Add(Append(Entry(++head, view, 8)));
            }
            else if (roll < 59)
            {
                var delta = prng.Below(10);
                head = head + delta > 3 ? head + delta - 3 : 0;
                changes.Add(Reset(head));
                if (head > 0 && prng.Chance(0.7))
                {
                    checkpoint = Checkpoint(head, prng.Between(0, 300), (byte)step);
                }
            }
            else if (roll < 72)
            {
                view += prng.Below(2);
                hard = Hard(view, view - prng.Below(2), head);
            }
            else if (roll < 86 && head > 0)
            {
                var op = head - prng.Below(Math.Min(head, 8));
                checkpoint = Checkpoint(op, prng.Between(0, 200), (byte)step);
                var suffix = prng.Below(6);
                if (op + 1 > suffix)
                {
                    compact = new OpNumber(op + 1 - suffix);
                }
            }
            else if (roll < 90)
            {
                compact = new OpNumber(prng.Below(head + 3));
            }
            else if (roll < 95)
            {
                changes.Add(Append(Entry(++head, view, 4)));
                changes.Add(TruncateAfter(head - 1));
                changes.Add(Append(Entry(head, view + 1, 5)));
                hard = Hard(view + 1, view + 1, head / 2);
                view++;
            }

            yield return Ready(changes, hard, checkpoint, compact);
        }
    }

    public static string TemporaryDirectory(string name) =>
        Path.Combine(Path.GetTempPath(), $"vsr-{name}-{Environment.ProcessId}-{Guid.NewGuid():N}");
}
