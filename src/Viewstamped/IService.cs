using System.Buffers;

namespace Viewstamped;

/// <summary>
/// The user's replicated state machine. It must be deterministic: the same operations with the
/// same predictions, applied in the same order, produce the same results and the same state on
/// every replica. Only the replica's driver loop calls it, one call at a time.
/// </summary>
public interface IService
{
    /// <summary>
    /// Executes one committed operation. <paramref name="prediction"/> is what the primary's
    /// <see cref="IPredictingService.Predict"/> returned for it (empty when the service does not
    /// predict). Returns the reply sent to the client.
    /// </summary>
    byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction);
}

/// <summary>
/// A service with non-deterministic inputs (time, random numbers): the primary asks it for a
/// prediction, which travels in the log entry so every replica executes with the same value (§4.4).
/// </summary>
public interface IPredictingService : IService
{
    /// <summary>Called at the primary only, when the operation is first prepared.</summary>
    byte[] Predict(ReadOnlySpan<byte> operation);
}

/// <summary>
/// A service that can write and restore its whole state, which enables checkpoints and log
/// compaction (§5.1). A service without it keeps its whole log and replays it on restart.
/// </summary>
public interface ICheckpointingService : IService
{
    /// <summary>Serializes the whole state; the same state must give the same bytes.</summary>
    byte[] WriteCheckpoint();

    /// <summary>Replaces the whole state with one written by <see cref="WriteCheckpoint"/>.</summary>
    void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint);
}

/// <summary>
/// A checkpointing service that writes its checkpoint piece by piece into the replica's chunked
/// buffer and restores from chunks, so no array the size of the whole state is ever made (it matters
/// for states of hundreds of megabytes: see <see cref="CheckpointState"/>). The replica uses these
/// two members instead of the array-based ones.
/// </summary>
public interface IStreamingCheckpointingService : ICheckpointingService
{
    /// <summary>
    /// Writes the checkpoint of the current state, the same bytes <see cref="ICheckpointingService.WriteCheckpoint()"/>
    /// returns, to <paramref name="destination"/>.
    /// </summary>
    void WriteCheckpoint(IBufferWriter<byte> destination);

    /// <summary>Replaces the whole state with one written by <see cref="WriteCheckpoint(IBufferWriter{byte})"/>.</summary>
    void RestoreCheckpoint(ReadOnlySequence<byte> checkpoint);
}

/// <summary>
/// A checkpointing service whose checkpoint can be written beside the replica's loop instead of inside
/// it: at a checkpoint the replica asks, on its loop, for a cheap snapshot of the current state (for
/// example by freezing what the state is made of and writing later changes elsewhere), and the
/// environment writes the snapshot on another thread while the service goes on executing. A large
/// state then costs the loop only the snapshot, not the whole write (see <see cref="CheckpointSnapshot"/>).
/// </summary>
public interface ISnapshottingService : ICheckpointingService
{
    /// <summary>
    /// Captures the current state, on the replica's loop, cheaply. Operations executed afterwards must
    /// not change what the snapshot writes. The replica keeps at most one snapshot alive: it disposes
    /// of it, on its loop, before it asks for the next.
    /// </summary>
    IServiceSnapshot TakeSnapshot();
}

/// <summary>
/// An immutable capture of a <see cref="ISnapshottingService"/>'s state, written once, from any thread.
/// The replica disposes of it on its loop once it is written (or no longer wanted): from then on the
/// service need not preserve what the snapshot captured.
/// </summary>
public interface IServiceSnapshot : IDisposable
{
    /// <summary>
    /// Writes the bytes <see cref="ICheckpointingService.WriteCheckpoint"/> would have returned when the
    /// snapshot was taken. Called at most once, from any thread, while the service executes on the loop.
    /// </summary>
    void WriteTo(IBufferWriter<byte> destination);
}
