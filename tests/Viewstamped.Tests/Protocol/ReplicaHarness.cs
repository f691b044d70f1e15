using Viewstamped.Messages;
using Viewstamped.Samples;

namespace Viewstamped.Tests.Protocol;

/// <summary>One replica driven by hand: feed it messages and ticks, read what it persisted and sent.</summary>
internal sealed class ReplicaHarness
{
    public static readonly UInt128 ClusterId = 0xABCu;

    public ReplicaHarness(int index, int replicaCount = 3, Func<ReplicaOptions, ReplicaOptions>? configure = null, MemoryStorage? storage = null)
    {
        var options = new ReplicaOptions
        {
            Cluster = ClusterId,
            ReplicaCount = replicaCount,
            Replica = new ReplicaIndex((byte)index),
            Seed = 42 + (ulong)index,
        };
        Service = new Adder();
        Storage = storage ?? new MemoryStorage();
        Replica = new Replica(configure?.Invoke(options) ?? options, Service, storage?.Load());
        Collect();
    }

    public Replica Replica { get; }

    public Adder Service { get; }

    public MemoryStorage Storage { get; }

    /// <summary>Everything sent since the last <see cref="Clear"/>.</summary>
    public List<Envelope> Sent { get; } = [];

    public List<Reply> Replies { get; } = [];

    public void Step(Message message)
    {
        Replica.Step(message);
        Collect();
    }

    public void Tick(int ticks = 1)
    {
        for (var i = 0; i < ticks; i++)
        {
            Replica.Tick();
            Collect();
        }
    }

    public void Clear()
    {
        Sent.Clear();
        Replies.Clear();
    }

    public IEnumerable<T> SentOf<T>() where T : Message => Sent.Select(e => e.Message).OfType<T>();

    public static MessageHeader From(int replica, ulong view) => new(ClusterId, 0, new View(view), new ReplicaIndex((byte)replica));

    public static MessageHeader FromClient(ulong view = 0) => new(ClusterId, 0, new View(view), ReplicaIndex.None);

    public static LogEntry Entry(ulong op, ulong view, ulong client = 7, ulong request = 1, int value = 1) =>
        new(new OpNumber(op), new View(view), EntryKind.Operation, new ClientId(client), request, Adder.Encode(value), []);

    public static LogEntry Registration(ulong op, ulong view, ulong client = 7) =>
        new(new OpNumber(op), new View(view), EntryKind.Register, new ClientId(client), 0, [], []);

    private void Collect()
    {
        var ready = Replica.TakeReady();
        Storage.Persist(ready);
        Sent.AddRange(ready.Messages);
        Replies.AddRange(ready.Replies);
    }
}
