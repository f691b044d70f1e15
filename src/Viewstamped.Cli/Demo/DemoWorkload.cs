using System.Diagnostics;
using System.Globalization;
using System.Text;
using Viewstamped.KeyValue;
using Viewstamped.Runtime.Client;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Cli.Demo;

/// <summary>
/// The demo's clients: each a closed loop over a few shared keys (SETs of values never written
/// before, and GETs) and its own journal keys (each written once). Every invocation and its
/// outcome is recorded in order as a Jepsen-style history. At the end every acknowledged journal
/// write is read back (a missing one is a lost write) and the whole history, final reads included,
/// goes to the linearizability checker with the key-value model.
/// </summary>
internal sealed class DemoWorkload
{
    private const int ReadBackChunk = 200;
    private readonly ViewstampedClient client;
    private readonly int clients;
    private readonly int sharedKeys;
    private readonly HistoryRecorder history = new();
    private readonly List<(string Key, string Value)> journal = [];
    private readonly Lock gate = new();
    private readonly List<Task> loops = [];
    private volatile bool stopped;
    private long acknowledged;
    private long unknown;

    public DemoWorkload(ViewstampedClient client, int clients)
    {
        this.client = client;
        this.clients = clients;
        sharedKeys = Math.Max(4, 2 * clients);
    }

    /// <summary>Operations that completed with a known result.</summary>
    public long Acknowledged => Interlocked.Read(ref acknowledged);

    /// <summary>Operations sent whose outcome stayed unknown (recorded as such: they may or may not have happened).</summary>
    public long Unknown => Interlocked.Read(ref unknown);

    /// <summary>Acknowledged writes to journal keys, each read back at the end.</summary>
    public int JournalWrites
    {
        get
        {
            lock (gate)
            {
                return journal.Count;
            }
        }
    }

    public void Start()
    {
        for (var process = 0; process < clients; process++)
        {
            var p = process;
            loops.Add(Task.Run(() => RunAsync(p), CancellationToken.None));
        }
    }

    public async Task StopAsync()
    {
        stopped = true;
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    /// <summary>The timestamp at which the first write invoked after <paramref name="since"/> was acknowledged; null if none yet.</summary>
    public long? FirstWriteAcknowledgedAfter(long since) => history.FirstWriteAcknowledgedAfter(since);

    /// <summary>
    /// Reads back every acknowledged journal write with MGET, and every shared key once; all of it is
    /// recorded in the history. Returns how many acknowledged writes are missing, or null when the
    /// reads themselves did not complete.
    /// </summary>
    public async Task<int?> ReadBackAsync(CancellationToken cancellationToken)
    {
        List<(string Key, string Value)> written;
        lock (gate)
        {
            written = [.. journal];
        }

        var lost = 0;
        var keys = written.Select(w => w.Key).Concat(Enumerable.Range(0, sharedKeys).Select(SharedKey)).ToList();
        var expected = written.ToDictionary(w => w.Key, w => w.Value, StringComparer.Ordinal);
        for (var start = 0; start < keys.Count; start += ReadBackChunk)
        {
            var chunk = keys.Skip(start).Take(ReadBackChunk).ToList();
            var values = await MultiGetAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (values is null)
            {
                return null;
            }

            for (var i = 0; i < chunk.Count; i++)
            {
                if (expected.TryGetValue(chunk[i], out var value) && values[i] != value)
                {
                    lost++;
                }
            }
        }

        return lost;
    }

    /// <summary>Checks the recorded history; gives up when <paramref name="timeout"/> passes.</summary>
    public (CheckResult Result, int Operations) Check(TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        return history.Check(KeyValueModel.Instance, new CheckBudget(ShouldStop: () => Stopwatch.GetTimestamp() > deadline));
    }

    private static string SharedKey(int index) => string.Create(CultureInfo.InvariantCulture, $"k{index}");

    private async Task RunAsync(int process)
    {
        var random = new Random(process);
        for (var i = 0; !stopped; i++)
        {
            var value = string.Create(CultureInfo.InvariantCulture, $"c{process}-{i}");
            switch (i % 4)
            {
                case 0:
                    await WriteAsync(process, SharedKey(random.Next(sharedKeys)), value, journaled: false).ConfigureAwait(false);
                    break;
                case 2:
                    await WriteAsync(process, string.Create(CultureInfo.InvariantCulture, $"j{process}-{i}"), value, journaled: true).ConfigureAwait(false);
                    break;
                default:
                    await ReadAsync(process, SharedKey(random.Next(sharedKeys))).ConfigureAwait(false);
                    break;
            }
        }
    }

    private async Task WriteAsync(int process, string key, string value, bool journaled)
    {
        history.Record(new HistoryEvent(process, HistoryEventType.Invoke, OperationKind.Write, key, value));
        var invoked = Stopwatch.GetTimestamp();
        var reply = await InvokeAsync(KeyValueOperation.Encode("SET", key, value)).ConfigureAwait(false);
        if (reply is null || Encoding.ASCII.GetString(reply) != "+OK\r\n")
        {
            history.Record(new HistoryEvent(process, HistoryEventType.Info, OperationKind.Write, key, value));
            Interlocked.Increment(ref unknown);
            return;
        }

        history.RecordWrite(new HistoryEvent(process, HistoryEventType.Ok, OperationKind.Write, key, value), invoked, Stopwatch.GetTimestamp());
        if (journaled)
        {
            lock (gate)
            {
                journal.Add((key, value));
            }
        }

        Interlocked.Increment(ref acknowledged);
    }

    private async Task ReadAsync(int process, string key)
    {
        history.Record(new HistoryEvent(process, HistoryEventType.Invoke, OperationKind.Read, key, null));
        var reply = await InvokeAsync(KeyValueOperation.Encode("GET", key)).ConfigureAwait(false);
        if (reply is null || !RespReply.TryReadBulk(reply, 0, out var value, out _))
        {
            history.Record(new HistoryEvent(process, HistoryEventType.Info, OperationKind.Read, key, null));
            Interlocked.Increment(ref unknown);
            return;
        }

        history.Record(new HistoryEvent(process, HistoryEventType.Ok, OperationKind.Read, key, value));
        Interlocked.Increment(ref acknowledged);
    }

    /// <summary>One MGET, recorded as one read per key (each its own history process) over the same interval.</summary>
    private async Task<string?[]?> MultiGetAsync(List<string> keys, CancellationToken cancellationToken)
    {
        const int ProcessBase = 1_000_000;
        for (var attempt = 0; attempt < 3 && !cancellationToken.IsCancellationRequested; attempt++)
        {
            byte[]? reply;
            try
            {
                reply = await client.InvokeAsync(KeyValueOperation.Encode(["MGET", .. keys]), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OutcomeUnknownException or TimeoutException or OperationCanceledException)
            {
                continue;
            }

            if (!RespReply.TryReadArrayOfBulks(reply, out var values) || values.Length != keys.Count)
            {
                return null;
            }

            history.Record(
                keys.Select((key, i) => new HistoryEvent(ProcessBase + i, HistoryEventType.Invoke, OperationKind.Read, key, null))
                    .Concat(keys.Select((key, i) => new HistoryEvent(ProcessBase + i, HistoryEventType.Ok, OperationKind.Read, key, values[i]))));

            return values;
        }

        return null;
    }

    private async Task<byte[]?> InvokeAsync(byte[] operation)
    {
        try
        {
            return await client.InvokeAsync(operation, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OutcomeUnknownException or TimeoutException or ServiceFailedException or ObjectDisposedException or InvalidOperationException)
        {
            return null;
        }
    }
}
