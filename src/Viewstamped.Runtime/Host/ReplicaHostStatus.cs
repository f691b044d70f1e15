namespace Viewstamped.Runtime.Host;

/// <summary>A snapshot of a running replica, published by the driver loop after every batch that changed it.</summary>
/// <param name="Replica">The replica's index.</param>
/// <param name="Status">Normal, view change or recovering.</param>
/// <param name="View">The replica's view.</param>
/// <param name="IsPrimary">True when it is the primary of its view.</param>
/// <param name="Op">The last op in its log.</param>
/// <param name="CommitNumber">The highest op it knows committed.</param>
/// <param name="ExecutedOp">The highest op its service executed.</param>
/// <param name="CheckpointOp">The op of its latest checkpoint.</param>
/// <param name="ViewChangesCompleted">View changes this incarnation completed.</param>
/// <param name="IgnoredMessages">Messages the core ignored (stale view, wrong status).</param>
public sealed record ReplicaHostStatus(
    ReplicaIndex Replica,
    ReplicaStatus Status,
    View View,
    bool IsPrimary,
    OpNumber Op,
    OpNumber CommitNumber,
    OpNumber ExecutedOp,
    OpNumber CheckpointOp,
    long ViewChangesCompleted,
    long IgnoredMessages)
{
    /// <summary>True when it is normal and its service executed everything it knows committed.</summary>
    public bool IsCaughtUp => Status == ReplicaStatus.Normal && ExecutedOp == CommitNumber;

    /// <inheritdoc />
    public override string ToString() =>
        $"replica={Replica} status={Status} view={View} primary={IsPrimary} op={Op} commit={CommitNumber} executed={ExecutedOp} checkpoint={CheckpointOp} view_changes={ViewChangesCompleted}";
}
