using System.Text;
using Viewstamped.Runtime.Client;

namespace Viewstamped.KeyValue.Server.Tests;

/// <summary>The batcher against a scripted invoke: which runs share a batch, and how replies are split.</summary>
public sealed class ReplicationBatcherTests
{
    private static readonly byte[] Set = KeyValueOperation.Encode("SET", "k", "v");
    private static readonly byte[] Get = KeyValueOperation.Encode("GET", "k");
    private static readonly byte[] Mget = KeyValueOperation.Encode("MGET", "k", "missing");

    /// <summary>Records every request and completes each when the test says so.</summary>
    private sealed class ScriptedInvoke
    {
        public List<(byte[] Request, TaskCompletionSource<byte[]> Reply)> Calls { get; } = [];

        public Task<byte[]> InvokeAsync(byte[] request, CancellationToken token)
        {
            var reply = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (Calls)
            {
                Calls.Add((request, reply));
            }

            return reply.Task;
        }

        public async Task<(byte[] Request, TaskCompletionSource<byte[]> Reply)> CallAsync(int index)
        {
            for (var i = 0; i < 2000; i++)
            {
                lock (Calls)
                {
                    if (Calls.Count > index)
                    {
                        return Calls[index];
                    }
                }

                await Task.Delay(5);
            }

            throw new TimeoutException($"call {index} never came");
        }
    }

    private static ReplicationBatcher Batcher(ScriptedInvoke invoke, int inFlight = 1, int batchMax = 1024, int bytesMax = 1 << 20) =>
        new(invoke.InvokeAsync, new RespServerOptions { BatchesInFlight = inFlight, BatchMax = batchMax, BatchBytesMax = bytesMax }, CancellationToken.None);

    /// <summary>Submits a run of <paramref name="commands"/> and completes with its replies.</summary>
    private static async Task<byte[]> Replicate(ReplicationBatcher batcher, byte[][] commands)
    {
        var run = new ReplicationRun();
        foreach (var command in commands)
        {
            run.Operations.Add(command);
        }

        batcher.Submit(run);
        return (await run.Replies).ToArray();
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    [Fact]
    public async Task A_lone_run_goes_at_once_and_runs_waiting_meanwhile_share_the_next_batch()
    {
        var invoke = new ScriptedInvoke();
        var batcher = Batcher(invoke);

        var first = Replicate(batcher, [Set]);
        var (request, reply) = await invoke.CallAsync(0);
        Assert.Equal(Set, request); // one command alone is not wrapped in a batch

        var second = Replicate(batcher, [Set, Get]);
        var third = Replicate(batcher, [Mget]);
        Assert.Single(invoke.Calls); // one batch in flight at most: they wait
        reply.SetResult(Bytes("+OK\r\n"));
        Assert.Equal("+OK\r\n", Text(await first));

        var (batch, batchReply) = await invoke.CallAsync(1);
        Assert.Equal(KeyValueOperation.EncodeBatch([Set, Get, Mget]), batch);
        batchReply.SetResult(Bytes("+OK\r\n$1\r\nv\r\n*2\r\n$1\r\nv\r\n$-1\r\n"));
        Assert.Equal("+OK\r\n$1\r\nv\r\n", Text(await second));
        Assert.Equal("*2\r\n$1\r\nv\r\n$-1\r\n", Text(await third));
        Assert.Equal(2, invoke.Calls.Count);
    }

    [Fact]
    public async Task A_batch_stops_at_its_limits_and_the_rest_waits_for_the_next()
    {
        var invoke = new ScriptedInvoke();
        var batcher = Batcher(invoke, batchMax: 3);
        var first = Replicate(batcher, [Get]);
        var (_, reply) = await invoke.CallAsync(0);
        var runs = new[] { Replicate(batcher, [Get, Get]), Replicate(batcher, [Get, Get]), Replicate(batcher, [Get]) };
        reply.SetResult(Bytes(":1\r\n"));
        await first;

        var (second, secondReply) = await invoke.CallAsync(1);
        Assert.Equal(KeyValueOperation.EncodeBatch([Get, Get]), second); // the next run would make 4 commands
        secondReply.SetResult(Bytes(":1\r\n:2\r\n"));
        var (third, thirdReply) = await invoke.CallAsync(2);
        Assert.Equal(KeyValueOperation.EncodeBatch([Get, Get, Get]), third);
        thirdReply.SetResult(Bytes(":3\r\n:4\r\n:5\r\n"));
        Assert.Equal([":1\r\n:2\r\n", ":3\r\n:4\r\n", ":5\r\n"], (await Task.WhenAll(runs)).Select(Text));
    }

    [Fact]
    public async Task Several_batches_fly_at_once_up_to_the_limit()
    {
        var invoke = new ScriptedInvoke();
        var batcher = Batcher(invoke, inFlight: 2);
        var runs = new[] { Replicate(batcher, [Get]), Replicate(batcher, [Get]), Replicate(batcher, [Get]) };
        var (_, one) = await invoke.CallAsync(0);
        var (_, two) = await invoke.CallAsync(1);
        Assert.Equal(2, invoke.Calls.Count);
        two.SetResult(Bytes(":2\r\n"));
        var (_, three) = await invoke.CallAsync(2);
        three.SetResult(Bytes(":3\r\n"));
        one.SetResult(Bytes(":1\r\n"));
        Assert.Equal([":1\r\n", ":2\r\n", ":3\r\n"], (await Task.WhenAll(runs)).Select(Text));
    }

    [Fact]
    public async Task An_unknown_outcome_or_an_unsplittable_reply_answers_every_command_with_an_error()
    {
        var invoke = new ScriptedInvoke();
        var batcher = Batcher(invoke);
        var first = Replicate(batcher, [Get]);
        var (_, reply) = await invoke.CallAsync(0);
        var second = Replicate(batcher, [Set, Get]);
        var third = Replicate(batcher, [Get]);
        reply.SetException(new OutcomeUnknownException(OutcomeUnknownReason.TimedOut, default, 1));
        Assert.StartsWith("-ERR outcome unknown", Text(await first), StringComparison.Ordinal);

        var (_, batchReply) = await invoke.CallAsync(1);
        batchReply.SetResult(Bytes("-ERR malformed operation\r\n")); // one reply for three commands
        var error = "-ERR the replicated batch's reply could not be split; the commands may have been applied\r\n";
        Assert.Equal(error + error, Text(await second));
        Assert.Equal(error, Text(await third));
    }

    [Fact]
    public async Task A_refused_request_answers_every_command_with_the_reason()
    {
        var invoke = new ScriptedInvoke();
        var batcher = Batcher(invoke);
        var run = Replicate(batcher, [Set, Get]);
        var (_, reply) = await invoke.CallAsync(0);
        reply.SetException(new ArgumentException("the request is larger than the cluster's RequestSizeMax; it was not executed"));
        var error = "-ERR the request is larger than the cluster's RequestSizeMax; it was not executed\r\n";
        Assert.Equal(error + error, Text(await run));
    }

    [Fact]
    public async Task Another_failure_faults_every_run_of_the_batch()
    {
        var invoke = new ScriptedInvoke();
        var batcher = Batcher(invoke);
        var first = Replicate(batcher, [Get]);
        var (_, reply) = await invoke.CallAsync(0);
        reply.SetException(new TimeoutException("no session"));
        await Assert.ThrowsAsync<TimeoutException>(() => first);

        // The lane went on: the next run is replicated.
        var next = Replicate(batcher, [Get]);
        var (_, nextReply) = await invoke.CallAsync(1);
        nextReply.SetResult(Bytes(":1\r\n"));
        Assert.Equal(":1\r\n", Text(await next));
    }
}
