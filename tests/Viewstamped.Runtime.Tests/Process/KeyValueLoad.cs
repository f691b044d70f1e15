using System.Diagnostics;
using System.Globalization;
using System.Text;
using Viewstamped.KeyValue;
using Viewstamped.Runtime.Client;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Runtime.Tests.Processes;

/// <summary>
/// Steady load on the key-value service from several concurrent callers (each a history process),
/// bounded in count and time: SETs of values no one wrote before and GETs over a few keys. Every
/// invocation and its outcome is recorded in order, so the checker can decide whether the history is
/// linearizable: an acknowledged SET that a later GET does not see (a lost write) is not.
/// </summary>
public sealed class KeyValueLoad : IDisposable
{
    private const int Keys = 6;
    private readonly ViewstampedClient client;
    private readonly HistoryRecorder history = new();
    private readonly List<Task> workers = [];
    private readonly CancellationTokenSource stop = new();
    private int acknowledged;
    private int unknown;

    public KeyValueLoad(ViewstampedClient client, int workers, int perWorkerMax, TimeSpan durationMax)
    {
        this.client = client;
        stop.CancelAfter(durationMax);
        for (var w = 0; w < workers; w++)
        {
            var process = w;
            this.workers.Add(Task.Run(() => RunAsync(process, perWorkerMax)));
        }
    }

    /// <summary>Operations that completed with a known result.</summary>
    public int Acknowledged => Volatile.Read(ref acknowledged);

    /// <summary>Operations sent that ended without a known outcome.</summary>
    public int Unknown => Volatile.Read(ref unknown);

    /// <summary>Seconds from <paramref name="since"/> to the first acknowledged SET invoked after it: a write committed in the new view.</summary>
    public double? FirstWriteAcknowledgedAfter(long since) =>
        history.FirstWriteAcknowledgedAfter(since) is { } after ? Stopwatch.GetElapsedTime(since, after).TotalSeconds : null;

    public async Task StopAsync()
    {
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// After <see cref="StopAsync"/>: reads every key once more (recorded too, so the final state must
    /// hold every acknowledged write) and checks the whole history with the key-value model.
    /// </summary>
    public async Task<string> CheckLinearizableAsync()
    {
        for (var key = 0; key < Keys; key++)
        {
            await InvokeAsync(workers.Count, "GET", Key(key), value: null);
        }

        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var (result, operations) = history.Check(KeyValueModel.Instance, new CheckBudget(ShouldStop: () => deadline.IsCancellationRequested));
        Assert.True(
            result.IsLinearizable,
            $"{result.Verdict} after {result.Steps} steps; failing key: {string.Join(Environment.NewLine, result.FailingPartition?.Take(40).Select(o => o.ToString()) ?? [])}");
        return string.Create(CultureInfo.InvariantCulture, $"{operations} operations linearizable in {result.Steps} steps");
    }

    public void Dispose() => stop.Dispose();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Acknowledged} acknowledged, {Unknown} unknown");

    private static string Key(int index) => $"k{index}";

    private async Task RunAsync(int process, int count)
    {
        var random = new Random(process);
        for (var i = 0; i < count && !stop.IsCancellationRequested; i++)
        {
            var key = Key(random.Next(Keys));
            if (random.Next(2) == 0)
            {
                await InvokeAsync(process, "SET", key, $"p{process}-{i}");
            }
            else
            {
                await InvokeAsync(process, "GET", key, value: null);
            }
        }
    }

    private async Task InvokeAsync(int process, string command, string key, string? value)
    {
        var kind = value is null ? OperationKind.Read : OperationKind.Write;
        history.Record(new HistoryEvent(process, HistoryEventType.Invoke, kind, key, value));
        var started = Stopwatch.GetTimestamp();
        try
        {
            var reply = await client.InvokeAsync(value is null ? KeyValueOperation.Encode(command, key) : KeyValueOperation.Encode(command, key, value));
            if (value is null)
            {
                history.Record(new HistoryEvent(process, HistoryEventType.Ok, kind, key, ParseBulkString(reply)));
            }
            else
            {
                Assert.Equal("+OK\r\n", Encoding.ASCII.GetString(reply));
                history.RecordWrite(new HistoryEvent(process, HistoryEventType.Ok, kind, key, value), started, Stopwatch.GetTimestamp());
            }

            Interlocked.Increment(ref acknowledged);
        }
        catch (OutcomeUnknownException)
        {
            history.Record(new HistoryEvent(process, HistoryEventType.Info, kind, key, value));
            Interlocked.Increment(ref unknown);
        }
        catch (TimeoutException)
        {
            // Never sent: it did not execute.
            history.Record(new HistoryEvent(process, HistoryEventType.Fail, kind, key, value));
        }
    }

    /// <summary>A RESP2 bulk string reply (<c>$n\r\nvalue\r\n</c>), or null for <c>$-1\r\n</c>.</summary>
    private static string? ParseBulkString(byte[] reply)
    {
        var text = Encoding.UTF8.GetString(reply);
        if (text == "$-1\r\n")
        {
            return null;
        }

        Assert.StartsWith("$", text, StringComparison.Ordinal);
        var newline = text.IndexOf("\r\n", StringComparison.Ordinal);
        var length = int.Parse(text.AsSpan(1, newline - 1), CultureInfo.InvariantCulture);
        return text.Substring(newline + 2, length);
    }
}
