namespace Viewstamped;

/// <summary>
/// Where a replica's durable state lives. The environment (simulator or runtime) owns it; the core
/// never calls it. Implementations: <see cref="MemoryStorage"/>, the simulator's faulty disk, and the
/// runtime's file storage. One contract test suite runs against all of them.
/// </summary>
public interface IReplicaStorage
{
    /// <summary>What a restarting replica finds: hard state, latest checkpoint and retained log.</summary>
    DurableState Load();

    /// <summary>
    /// Applies the persistence part of <paramref name="ready"/> (log changes, hard state, checkpoint,
    /// then compaction) and returns only when all of it is durable, so the Ready's messages may be sent.
    /// It keeps no reference to the Ready or its lists afterwards: the caller may hand the Ready back to
    /// its replica (<see cref="Replica.Recycle"/>), which empties and refills it.
    /// </summary>
    void Persist(Ready ready);
}
