using Viewstamped.Runtime.Client;

namespace Viewstamped.KeyValue.Server;

/// <summary>
/// Replicates the runs of commands of every connection of a server, several runs per log entry.
/// Up to <see cref="RespServerOptions.BatchesInFlight"/> batches go through the client at once; a
/// run submitted while that many are in flight waits, and when one completes, the next batch takes
/// every waiting run that fits (<see cref="RespServerOptions.BatchMax"/> commands,
/// <see cref="RespServerOptions.BatchBytesMax"/> bytes). So under load one request, one log entry
/// and one reply carry the pipelines of many connections, and when idle a run goes out at once.
/// </summary>
/// <remarks>
/// Runs of different connections are concurrent, so executing them in one entry, in any order, is
/// linearizable; a connection has one run in flight at a time, so its own commands keep their
/// order. The entry's reply is every command's reply concatenated (<see cref="KeyValueOperation.EncodeBatch"/>),
/// split again per run with <see cref="Resp.TryMeasure"/>. An outcome the client cannot know
/// (<see cref="OutcomeUnknownException"/>), a failed execution or a refused request (too large)
/// becomes an error reply for every command of every run in the batch; any other failure faults
/// every run's task.
/// </remarks>
internal sealed class ReplicationBatcher
{
    private static readonly byte[] Unsplittable = Resp.Error("ERR the replicated batch's reply could not be split; the commands may have been applied");

    private readonly Func<byte[], CancellationToken, Task<byte[]>> invoke;
    private readonly int commandsMax;
    private readonly int bytesMax;
    private readonly int inFlightMax;
    private readonly CancellationToken stopping;
    private readonly Lock gate = new();
    private readonly Queue<Run> waiting = new();
    private int inFlight;

    /// <summary>Creates a batcher.</summary>
    /// <param name="invoke">Replicates one operation and returns its reply: the client's <see cref="ViewstampedClient.InvokeAsync(byte[], CancellationToken)"/>.</param>
    /// <param name="options">The batch limits.</param>
    /// <param name="stopping">Cancels what is in flight when the server stops.</param>
    public ReplicationBatcher(Func<byte[], CancellationToken, Task<byte[]>> invoke, RespServerOptions options, CancellationToken stopping)
    {
        this.invoke = invoke;
        commandsMax = options.BatchMax;
        bytesMax = options.BatchBytesMax;
        inFlightMax = options.BatchesInFlight;
        this.stopping = stopping;
    }

    /// <summary>
    /// Replicates <paramref name="commands"/> (encoded operations, executed in order) and completes
    /// with their replies concatenated.
    /// </summary>
    public Task<byte[]> ReplicateAsync(IReadOnlyList<byte[]> commands)
    {
        var bytes = 0L;
        foreach (var command in commands)
        {
            bytes += command.Length;
        }

        var run = new Run([.. commands], bytes);
        bool start;
        lock (gate)
        {
            waiting.Enqueue(run);
            start = inFlight < inFlightMax;
            if (start)
            {
                inFlight++;
            }
        }

        if (start)
        {
            _ = LaneAsync();
        }

        return run.Replies.Task;
    }

    /// <summary>One of at most <see cref="inFlightMax"/> loops: replicates batches while runs wait.</summary>
    private async Task LaneAsync()
    {
        var batch = new List<Run>();
        var operations = new List<byte[]>();
        while (true)
        {
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    inFlight--;
                    return;
                }

                Take(batch, operations);
            }

            await ReplicateBatchAsync(batch, operations).ConfigureAwait(false);
            batch.Clear();
            operations.Clear();
        }
    }

    /// <summary>Takes the waiting runs that fit one batch, in order; always at least one.</summary>
    private void Take(List<Run> batch, List<byte[]> operations)
    {
        var bytes = 0L;
        while (waiting.TryPeek(out var run)
               && (batch.Count == 0 || (operations.Count + run.Commands.Length <= commandsMax && bytes + run.Bytes <= bytesMax)))
        {
            waiting.Dequeue();
            batch.Add(run);
            operations.AddRange(run.Commands);
            bytes += run.Bytes;
        }
    }

    private async Task ReplicateBatchAsync(List<Run> batch, List<byte[]> operations)
    {
        var request = operations.Count == 1 ? operations[0] : KeyValueOperation.EncodeBatch(operations);
        byte[] replies;
        try
        {
            replies = await invoke(request, stopping).ConfigureAwait(false);
        }
        catch (OutcomeUnknownException e)
        {
            Fail(batch, Resp.Error($"ERR outcome unknown ({e.Reason}): the command may or may not have been applied"));
            return;
        }
        catch (ServiceFailedException)
        {
            Fail(batch, Resp.Error("ERR the replicated service failed to execute the command"));
            return;
        }
        catch (ArgumentException e)
        {
            // Refused before it executed, e.g. larger than the replicas' request size limit.
            Fail(batch, Resp.Error($"ERR {e.Message}"));
            return;
        }
        catch (Exception e)
        {
            foreach (var run in batch)
            {
                run.Replies.TrySetException(e);
            }

            return;
        }

        if (batch.Count == 1)
        {
            batch[0].Replies.TrySetResult(replies);
            return;
        }

        Split(batch, replies);
    }

    /// <summary>Hands each run its commands' replies, cut from the batch's concatenated replies.</summary>
    private static void Split(List<Run> batch, byte[] replies)
    {
        var at = 0;
        var cuts = new int[batch.Count + 1];
        for (var i = 0; i < batch.Count; i++)
        {
            for (var c = 0; c < batch[i].Commands.Length; c++)
            {
                if (!Resp.TryMeasure(replies.AsSpan(at), out var length))
                {
                    Fail(batch, Unsplittable);
                    return;
                }

                at += length;
            }

            cuts[i + 1] = at;
        }

        if (at != replies.Length)
        {
            Fail(batch, Unsplittable);
            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Replies.TrySetResult(replies[cuts[i]..cuts[i + 1]]);
        }
    }

    /// <summary>Every command of every run gets <paramref name="error"/>, so replies stay paired with commands.</summary>
    private static void Fail(List<Run> batch, byte[] error)
    {
        foreach (var run in batch)
        {
            var replies = new byte[error.Length * run.Commands.Length];
            for (var i = 0; i < run.Commands.Length; i++)
            {
                error.CopyTo(replies, i * error.Length);
            }

            run.Replies.TrySetResult(replies);
        }
    }

    private sealed class Run(byte[][] commands, long bytes)
    {
        public byte[][] Commands { get; } = commands;

        public long Bytes { get; } = bytes;

        public TaskCompletionSource<byte[]> Replies { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
