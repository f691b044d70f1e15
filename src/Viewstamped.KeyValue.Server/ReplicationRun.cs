using System.Threading.Tasks.Sources;

namespace Viewstamped.KeyValue.Server;

/// <summary>
/// One connection's run of replicated commands and the wait for their replies: the connection fills
/// <see cref="Operations"/>, hands the run to <see cref="ReplicationBatcher.Submit"/> and awaits
/// it; the batcher completes it with the run's replies. One per connection, reused for every run, so
/// a run allocates nothing.
/// </summary>
/// <remarks>
/// The awaiting connection continues on the thread that completes the run (the batcher's, right after
/// the batch's reply came), not through the thread pool: writing a connection's replies is short,
/// and one batch completes many runs. The replies are valid until the run is submitted again.
/// </remarks>
internal sealed class ReplicationRun : IValueTaskSource<ReadOnlyMemory<byte>>
{
    private ManualResetValueTaskSourceCore<ReadOnlyMemory<byte>> completion = new() { RunContinuationsAsynchronously = false };

    /// <summary>The commands to replicate, in order.</summary>
    public OperationRun Operations { get; } = new();

    /// <summary>What waiting for the replies looks like; valid once per submission.</summary>
    public ValueTask<ReadOnlyMemory<byte>> Replies => new(this, completion.Version);

    /// <summary>Readies the run for its next commands; call once its replies were taken.</summary>
    public void Reset()
    {
        Operations.Clear();
        completion.Reset();
    }

    /// <summary>Completes the wait with the run's replies, concatenated.</summary>
    public void Complete(ReadOnlyMemory<byte> replies) => completion.SetResult(replies);

    /// <summary>Completes the wait with a failure.</summary>
    public void Fail(Exception error) => completion.SetException(error);

    ReadOnlyMemory<byte> IValueTaskSource<ReadOnlyMemory<byte>>.GetResult(short token) => completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadOnlyMemory<byte>>.GetStatus(short token) => completion.GetStatus(token);

    void IValueTaskSource<ReadOnlyMemory<byte>>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        completion.OnCompleted(continuation, state, token, flags);
}
