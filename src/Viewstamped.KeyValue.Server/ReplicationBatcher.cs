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
/// order. The entry's reply is every command's reply concatenated (<see cref="KeyValueOperation.EncodeBatch(IReadOnlyList{OperationRun})"/>),
/// split again per run with <see cref="Resp.TryMeasure"/>. An outcome the client cannot know
/// (<see cref="OutcomeUnknownException"/>), a failed execution or a refused request (too large)
/// becomes an error reply for every command of every run in the batch; any other failure fails
/// every run with that exception.
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
    private readonly Queue<ReplicationRun> waiting = new();
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
    /// Replicates the commands of <paramref name="run"/> (executed in order) and completes it with
    /// their replies concatenated; await <see cref="ReplicationRun.Replies"/>. The run must not be
    /// touched until then.
    /// </summary>
    public void Submit(ReplicationRun run)
    {
        if (run.Operations.Count == 0)
        {
            throw new ArgumentException("a run holds at least one command", nameof(run));
        }

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
    }

    /// <summary>One of at most <see cref="inFlightMax"/> loops: replicates batches while runs wait.</summary>
    private async Task LaneAsync()
    {
        var batch = new List<ReplicationRun>();
        while (true)
        {
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    inFlight--;
                    return;
                }

                Take(batch);
            }

            await ReplicateBatchAsync(batch).ConfigureAwait(false);
            batch.Clear();
        }
    }

    /// <summary>Takes the waiting runs that fit one batch, in order; always at least one.</summary>
    private void Take(List<ReplicationRun> batch)
    {
        var commands = 0L;
        var bytes = 0L;
        while (waiting.TryPeek(out var run)
               && (batch.Count == 0 || (commands + run.Operations.Count <= commandsMax && bytes + run.Operations.Length <= bytesMax)))
        {
            waiting.Dequeue();
            batch.Add(run);
            commands += run.Operations.Count;
            bytes += run.Operations.Length;
        }
    }

    private async Task ReplicateBatchAsync(List<ReplicationRun> batch)
    {
        var request = KeyValueOperation.EncodeBatch(batch.ConvertAll(run => run.Operations));
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
                run.Fail(e);
            }

            return;
        }

        if (batch.Count == 1)
        {
            batch[0].Complete(replies);
            return;
        }

        Split(batch, replies);
    }

    /// <summary>Hands each run its commands' replies, cut from the batch's concatenated replies.</summary>
    private static void Split(List<ReplicationRun> batch, byte[] replies)
    {
        var at = 0;
        var cuts = new int[batch.Count + 1];
        for (var i = 0; i < batch.Count; i++)
        {
            for (var c = 0; c < batch[i].Operations.Count; c++)
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
            batch[i].Complete(replies.AsMemory(cuts[i]..cuts[i + 1]));
        }
    }

    /// <summary>Every command of every run gets <paramref name="error"/>, so replies stay paired with commands.</summary>
    private static void Fail(List<ReplicationRun> batch, byte[] error)
    {
        foreach (var run in batch)
        {
            var replies = new byte[error.Length * run.Operations.Count];
            for (var i = 0; i < run.Operations.Count; i++)
            {
                error.CopyTo(replies, i * error.Length);
            }

            run.Complete(replies);
        }
    }
}
