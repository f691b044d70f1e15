using System.Globalization;
using System.Text;
using Viewstamped.Messages;
using Viewstamped.Samples;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Workload;

/// <summary>What the workload's clients do.</summary>
public sealed record WorkloadOptions
{
    /// <summary>The number of concurrent clients (slots; a crashed client's slot restarts with a new session).</summary>
    public int Clients { get; init; } = 4;

    /// <summary>The operations each client slot submits over the run.</summary>
    public int RequestsPerClient { get; init; } = 100;

    /// <summary>The number of keys operations pick from (1 to <see cref="KeyValueService.KeysMax"/>).</summary>
    public int Keys { get; init; } = 4;

    /// <summary>The share of operations that go to the Adder instead of a key.</summary>
    public double AddShare { get; init; } = 0.1;

    /// <summary>The most ticks a client waits between a completion and its next operation.</summary>
    public int ThinkTicksMax { get; init; }
}

/// <summary>One Adder operation as its client saw it, in the workload's logical time.</summary>
/// <param name="Process">The client process.</param>
/// <param name="Call">When it was invoked.</param>
/// <param name="Return">When it completed, or <see cref="Operation.NeverReturned"/>.</param>
/// <param name="Addend">What it added.</param>
/// <param name="Total">The total it returned, when it completed.</param>
public readonly record struct AddRecord(int Process, long Call, long Return, int Addend, int? Total);

/// <summary>How a client operation ended.</summary>
public enum OperationOutcome
{
    /// <summary>Still in flight.</summary>
    Pending,

    /// <summary>Completed and took effect (a compare-and-set that swapped, any other completed operation).</summary>
    Ok,

    /// <summary>Completed without effect: a compare-and-set that found another value.</summary>
    Failed,

    /// <summary>Never completed (its client crashed or its session ended): it may or may not have taken effect.</summary>
    Unknown,
}

/// <summary>One client operation with the ticks it was invoked and completed at (a value: the workload records one per operation).</summary>
/// <param name="Command">What the client asked for.</param>
/// <param name="InvokedAt">The tick it was submitted at.</param>
/// <param name="CompletedAt">The tick its reply arrived at, or null when it never completed.</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Result">What a completed get or add returned (the value, or the total in decimal).</param>
public readonly record struct ClientOperation(KvCommand Command, ulong InvokedAt, ulong? CompletedAt, OperationOutcome Outcome, string? Result);

/// <summary>
/// Clients on the <see cref="KeyValueService"/>: each slot keeps one operation in flight (get, put,
/// append, compare-and-set on a handful of keys, or an add), and every invocation and completion is
/// recorded in a history, in the order they happened. Operations that never complete (their client
/// crashed) stay open in the history: they may or may not have taken effect.
/// </summary>
public sealed class KvWorkload
{
    private readonly Cluster cluster;
    private readonly Prng prng;
    private readonly WorkloadOptions options;
    private readonly Slot[] slots;
    private readonly List<Recorded> events = [];
    private readonly List<AddRecord> adds = [];
    private readonly List<ClientOperation> operations = [];
    private readonly string[] lastKnown;
    private long clock;

    /// <summary>Creates the client slots and registers a session for each.</summary>
    public KvWorkload(Cluster cluster, Prng prng, WorkloadOptions options)
    {
        if (options.Clients < 1 || options.RequestsPerClient < 0 || options.Keys is < 1 or > KeyValueService.KeysMax)
        {
            throw new ArgumentException("a workload needs at least one client, a non-negative request count and 1 to 64 keys");
        }

        this.cluster = cluster;
        this.prng = prng;
        this.options = options;
        // One record per operation, and about one history event per invocation and per completion:
        // sized up front (within reason), so the lists do not regrow through a long run. An event is
        // kept as a value naming its operation, whose record holds the rest: a long run's history
        // is then two lists of values, not two objects per operation for the collector to trace.
        var expected = (int)Math.Min((long)options.Clients * options.RequestsPerClient, 1 << 20);
        operations.Capacity = expected;
        events.Capacity = 2 * expected;
        lastKnown = new string[options.Keys];
        Array.Fill(lastKnown, string.Empty);
        slots = new Slot[options.Clients];
        for (var i = 0; i < slots.Length; i++)
        {
            slots[i] = new Slot(i);
            Start(slots[i]);
        }
    }

    /// <summary>The key-value history: invocations and completions in the order they happened (each event made when it is read).</summary>
    public IReadOnlyList<HistoryEvent> History => new HistoryView(this);

    /// <summary>The Adder operations.</summary>
    public IReadOnlyList<AddRecord> Adds => adds;

    /// <summary>Every client operation, in invocation order, with its invocation and completion ticks.</summary>
    public IReadOnlyList<ClientOperation> Operations => operations;

    /// <summary>Operations invoked so far.</summary>
    public int Invoked { get; private set; }

    /// <summary>Operations that completed with a known outcome.</summary>
    public int Completed { get; private set; }

    /// <summary>Operations whose outcome stays unknown (their client crashed or their session ended).</summary>
    public int Unknown { get; private set; }

    /// <summary>Client processes crashed so far.</summary>
    public int ClientCrashes { get; private set; }

    /// <summary>True when every slot submitted its share and nothing is in flight at a live client.</summary>
    public bool Done
    {
        get
        {
            foreach (var slot in slots)
            {
                if (slot.Submitted < options.RequestsPerClient || slot.Pending is not null)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>The number of client slots.</summary>
    public int SlotCount => slots.Length;

    /// <summary>True when slot <paramref name="slot"/>'s client process runs.</summary>
    public bool IsUp(int slot) => slots[slot].Client is not null;

    /// <summary>
    /// Records what completed since the last call, then gives every idle client its next operation.
    /// Call it between cluster ticks.
    /// </summary>
    public void Step(ulong now)
    {
        foreach (var slot in slots)
        {
            Collect(slot);
        }

        foreach (var slot in slots)
        {
            if (slot.Client is { IsIdle: true } client && slot.Pending is null && slot.Submitted < options.RequestsPerClient)
            {
                if (slot.ThinkUntil == 0 && options.ThinkTicksMax > 0)
                {
                    slot.ThinkUntil = now + 1 + prng.Below((ulong)options.ThinkTicksMax);
                }

                if (now >= slot.ThinkUntil)
                {
                    slot.ThinkUntil = 0;
                    Submit(slot, client, now);
                }
            }
        }
    }

    /// <summary>
    /// The slot whose client has waited longest for an answer (to its registration or its operation),
    /// and since when; false when no live client waits.
    /// </summary>
    public bool OldestOutstanding(out int slotIndex, out ulong since)
    {
        slotIndex = -1;
        since = ulong.MaxValue;
        foreach (var slot in slots)
        {
            if (slot.Client is not { } client)
            {
                continue;
            }

            var waiting = client.Session.State switch
            {
                ClientSessionState.Registering => client.CreatedAt,
                ClientSessionState.Busy => client.PendingSince,
                _ => ulong.MaxValue,
            };
            if (waiting < since)
            {
                since = waiting;
                slotIndex = slot.Index;
            }
        }

        return slotIndex >= 0;
    }

    /// <summary>Describes what slot <paramref name="slot"/>'s client waits for.</summary>
    public string DescribeOutstanding(int slot)
    {
        var s = slots[slot];
        if (s.Client is not { } client)
        {
            return $"client slot {slot} is down";
        }

        return client.Session.State == ClientSessionState.Registering
            ? $"client {s.Process} registering since tick {client.CreatedAt}"
            : $"client {s.Process} operation {s.Pending?.Sequence} ({s.Pending?.Function} {KvCommand.KeyName(s.Pending?.Key ?? 0)}) in flight since tick {client.PendingSince}";
    }

    /// <summary>Crashes slot <paramref name="slot"/>'s client process; its operation in flight stays open.</summary>
    public void CrashClient(int slot)
    {
        var s = slots[slot];
        if (s.Client is not { } client)
        {
            return;
        }

        Collect(s);
        cluster.CrashClient(client);
        s.Client = null;
        ClientCrashes++;
        Abandon(s);
    }

    /// <summary>Restarts slot <paramref name="slot"/> with a new client process and session, if it is down.</summary>
    public void RestartClient(int slot)
    {
        if (slots[slot].Client is null)
        {
            Start(slots[slot]);
        }
    }

    /// <summary>
    /// The key-value operations for the linearizability checker. With <paramref name="dropUnobserved"/>,
    /// operations whose outcome is unknown and whose value no completed operation ever saw are left out:
    /// every written value is unique, so such an operation either never took effect or was overwritten
    /// before anyone looked, and leaving it out changes no verdict — but each one left in multiplies the
    /// checker's search, which crashed clients would otherwise make intractable.
    /// </summary>
    public IReadOnlyList<Operation> KeyValueOperations(bool dropUnobserved = true)
    {
        var operations = HistoryOperations();
        if (!dropUnobserved || operations.All(operation => operation.HasReturned))
        {
            return operations;
        }

        // What completed operations saw, per key: values read, and values a successful cas found.
        var seen = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var operation in operations)
        {
            var observed = operation switch
            {
                { HasReturned: true, Input.Kind: OperationKind.Read } => operation.Output,
                { HasReturned: true, Input.Kind: OperationKind.Cas } => operation.Input.Expected,
                _ => null,
            };
            if (!string.IsNullOrEmpty(observed))
            {
                if (!seen.TryGetValue(operation.Input.Key, out var values))
                {
                    seen[operation.Input.Key] = values = [];
                }

                values.Add(observed);
            }
        }

        bool Observed(Operation operation) =>
            operation.Input.Value is not { Length: > 0 } value
            || (seen.TryGetValue(operation.Input.Key, out var values) && values.Exists(v => v.Contains(value, StringComparison.Ordinal)));

        return operations.Where(operation => operation.HasReturned || Observed(operation)).ToList();
    }

    /// <summary>The process, type and value length of history event <paramref name="index"/>, without making the event.</summary>
    internal (int Process, HistoryEventType Type, int ValueLength) EventShape(int index)
    {
        var (type, operation) = events[index];
        var command = operations[operation].Command;
        return (command.Process, type, EventValue(type, operations[operation])?.Length ?? 0);
    }

    /// <summary>The number of history events so far.</summary>
    internal int EventCount => events.Count;

    /// <summary>The Adder operations for the linearizability checker (with <see cref="AdderModel"/>).</summary>
    public IReadOnlyList<Operation> AdderOperations()
    {
        var operations = new List<Operation>(adds.Count);
        foreach (var add in adds)
        {
            var input = new OperationInput(OperationKind.Append, "adder", add.Addend.ToString(CultureInfo.InvariantCulture));
            operations.Add(new Operation(add.Process, add.Call, add.Return, input, add.Total?.ToString(CultureInfo.InvariantCulture)));
        }

        operations.Sort(static (a, b) => a.Call.CompareTo(b.Call));
        return operations;
    }

    private void Start(Slot slot)
    {
        slot.Process = slot.Index + (slots.Length * slot.Incarnation++);
        slot.Sequence = 0;
        slot.ThinkUntil = 0;
        slot.Client = cluster.AddClient();
    }

    private void Submit(Slot slot, SimulatedClient client, ulong now)
    {
        var command = NextCommand(slot);
        slot.Pending = command;
        slot.OperationIndex = operations.Count;
        operations.Add(new ClientOperation(command, now, null, OperationOutcome.Pending, null));
        slot.Submitted++;
        Invoked++;
        if (command.Function == KvFunction.Add)
        {
            slot.AddIndex = adds.Count;
            adds.Add(new AddRecord(slot.Process, clock++, Operation.NeverReturned, command.Addend, null));
        }
        else
        {
            clock++;
            events.Add(new Recorded(HistoryEventType.Invoke, slot.OperationIndex));
        }

        cluster.Submit(client, command.Encode());
    }

    private KvCommand NextCommand(Slot slot)
    {
        var sequence = ++slot.Sequence;
        var process = slot.Process;
        if (prng.Chance(options.AddShare))
        {
            return new KvCommand(process, sequence, KvFunction.Add, 0, Addend: 1 + (int)prng.Below(100));
        }

        // Each value is "process.sequence", unique in the run; every string is formatted in one go,
        // and only for the commands that carry it.
        var key = (byte)prng.Below((ulong)options.Keys);
        var pick = prng.Below(100);
        return pick switch
        {
            < 35 => new KvCommand(process, sequence, KvFunction.Get, key),
            < 55 => new KvCommand(process, sequence, KvFunction.Put, key, Token(process, sequence)),
            < 80 => new KvCommand(process, sequence, KvFunction.Append, key, string.Create(CultureInfo.InvariantCulture, $"{process}.{sequence};")),
            _ => new KvCommand(process, sequence, KvFunction.Cas, key, Token(process, sequence),
                prng.Chance(0.8) ? lastKnown[key] : string.Create(CultureInfo.InvariantCulture, $"x{process}.{sequence}")),
        };
    }

    private static string Token(int process, int sequence) => string.Create(CultureInfo.InvariantCulture, $"{process}.{sequence}");

    /// <summary>Records the slot's completions, and restarts it when the cluster ended its session.</summary>
    private void Collect(Slot slot)
    {
        if (slot.Client is not { } client)
        {
            return;
        }

        if (client.Completed.Count > 0)
        {
            // The history keeps what matters; the client's own record is dropped as it is read.
            foreach (var completed in client.Completed)
            {
                Complete(slot, completed);
            }

            client.Completed.Clear();
        }

        if (client.Session.State == ClientSessionState.Ended)
        {
            cluster.CrashClient(client);
            slot.Client = null;
            Abandon(slot);
            Start(slot);
        }
    }

    private void Complete(Slot slot, CompletedRequest completed)
    {
        if (slot.Pending is not { } command)
        {
            return;
        }

        slot.Pending = null;
        if (completed.Status != ReplyStatus.Ok)
        {
            RecordUnknown(slot, command);
            return;
        }

        Completed++;
        if (command.Function == KvFunction.Add)
        {
            var total = Adder.Decode(completed.Result);
            adds[slot.AddIndex] = adds[slot.AddIndex] with { Return = clock++, Total = total };
            Record(slot, completed.CompletedAt, OperationOutcome.Ok, total.ToString(CultureInfo.InvariantCulture));
            return;
        }

        clock++;
        var key = command.Key;
        switch (command.Function)
        {
            case KvFunction.Get:
                var value = completed.Result.Length == 0 ? string.Empty : Encoding.UTF8.GetString(completed.Result);
                lastKnown[key] = value;
                Record(slot, completed.CompletedAt, OperationOutcome.Ok, value);
                events.Add(new Recorded(HistoryEventType.Ok, slot.OperationIndex));
                break;
            case KvFunction.Cas when completed.Result is not [1]:
                Record(slot, completed.CompletedAt, OperationOutcome.Failed, null);
                events.Add(new Recorded(HistoryEventType.Fail, slot.OperationIndex));
                break;
            default:
                lastKnown[key] = command.Function == KvFunction.Append ? lastKnown[key] + command.Value : command.Value!;
                Record(slot, completed.CompletedAt, OperationOutcome.Ok, null);
                events.Add(new Recorded(HistoryEventType.Ok, slot.OperationIndex));
                break;
        }
    }

    /// <summary>The slot's operation in flight will never be answered: its outcome is unknown.</summary>
    private void Abandon(Slot slot)
    {
        if (slot.Pending is { } command)
        {
            slot.Pending = null;
            RecordUnknown(slot, command);
        }
    }

    private void Record(Slot slot, ulong? completedAt, OperationOutcome outcome, string? result) =>
        operations[slot.OperationIndex] = operations[slot.OperationIndex] with { CompletedAt = completedAt, Outcome = outcome, Result = result };

    private void RecordUnknown(Slot slot, KvCommand command)
    {
        Unknown++;
        clock++;
        Record(slot, null, OperationOutcome.Unknown, null);
        if (command.Function != KvFunction.Add)
        {
            events.Add(new Recorded(HistoryEventType.Info, slot.OperationIndex));
        }
    }

    /// <summary>
    /// The operations <see cref="Linearizability.History.ToOperations"/> makes of <see cref="History"/>
    /// (an event's position is its time), made from the records without making the events: an
    /// invocation and its completion are paired by the operation they name.
    /// </summary>
    private List<Operation> HistoryOperations()
    {
        const long NotPending = -1;
        var calls = new long[operations.Count];
        Array.Fill(calls, NotPending);
        var result = new List<Operation>((events.Count / 2) + 1);
        for (var time = 0; time < events.Count; time++)
        {
            var (type, index) = events[time];
            var record = operations[index];
            if (type == HistoryEventType.Invoke)
            {
                calls[index] = time;
                continue;
            }

            var call = calls[index];
            calls[index] = NotPending;
            switch (type)
            {
                case HistoryEventType.Ok:
                    var kind = Kind(record.Command.Function);
                    result.Add(new Operation(record.Command.Process, call, time, Input(record.Command), kind == OperationKind.Read ? record.Result : null));
                    break;
                case HistoryEventType.Info when record.Command.Function != KvFunction.Get:
                    result.Add(new Operation(record.Command.Process, call, Operation.NeverReturned, Input(record.Command), null));
                    break;
                default:
                    // A :fail did not happen; a read with an unknown outcome constrains nothing.
                    break;
            }
        }

        for (var index = 0; index < calls.Length; index++)
        {
            // Still in flight at the end: it may or may not have taken effect.
            if (calls[index] != NotPending && operations[index].Command.Function != KvFunction.Get)
            {
                result.Add(new Operation(operations[index].Command.Process, calls[index], Operation.NeverReturned, Input(operations[index].Command), null));
            }
        }

        result.Sort(static (a, b) => a.Call.CompareTo(b.Call));
        return result;
    }

    private static OperationInput Input(KvCommand command) =>
        new(Kind(command.Function), KvCommand.KeyName(command.Key), command.Function == KvFunction.Get ? null : command.Value, command.Function == KvFunction.Cas ? command.Expected : null);

    /// <summary>What event <paramref name="type"/> of <paramref name="record"/> carries as its value: the argument, or what a completed get read.</summary>
    private static string? EventValue(HistoryEventType type, ClientOperation record) => record.Command.Function switch
    {
        KvFunction.Get => type == HistoryEventType.Ok ? record.Result : null,
        _ => record.Command.Value,
    };

    private static HistoryEvent Event(HistoryEventType type, ClientOperation record) =>
        new(record.Command.Process, type, Kind(record.Command.Function), KvCommand.KeyName(record.Command.Key), EventValue(type, record), record.Command.Function == KvFunction.Cas ? record.Command.Expected : null);

    private static OperationKind Kind(KvFunction function) => function switch
    {
        KvFunction.Get => OperationKind.Read,
        KvFunction.Put => OperationKind.Write,
        KvFunction.Append => OperationKind.Append,
        _ => OperationKind.Cas,
    };

    /// <summary>One history event: what happened to which operation (the index of its record).</summary>
    private readonly record struct Recorded(HistoryEventType Type, int Operation);

    /// <summary>The history as events, each made from its record when it is read.</summary>
    private sealed class HistoryView(KvWorkload workload) : IReadOnlyList<HistoryEvent>
    {
        private readonly List<Recorded> events = workload.events;
        private readonly List<ClientOperation> operations = workload.operations;

        public int Count => events.Count;

        public HistoryEvent this[int index] => Event(events[index].Type, operations[events[index].Operation]);

        public IEnumerator<HistoryEvent> GetEnumerator()
        {
            for (var i = 0; i < events.Count; i++)
            {
                yield return this[i];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class Slot(int index)
    {
        public int Index { get; } = index;

        public SimulatedClient? Client { get; set; }

        public int Process { get; set; }

        public int Incarnation { get; set; }

        public int Sequence { get; set; }

        public int Submitted { get; set; }

        public KvCommand? Pending { get; set; }

        public int AddIndex { get; set; }

        public int OperationIndex { get; set; }

        public ulong ThinkUntil { get; set; }
    }
}
