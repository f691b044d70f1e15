namespace Viewstamped;

/// <summary>
/// Planted bugs, for testing the checkers only: each must be caught by the simulator. Reachable
/// only through <c>InternalsVisibleTo</c>; production code never sets one.
/// </summary>
[Flags]
internal enum Mutation
{
    None = 0,

    /// <summary>The primary commits with one acknowledgement fewer than a quorum.</summary>
    CommitWithoutQuorum = 1 << 0,

    /// <summary>A DoViewChange leaves out the sender's last entry.</summary>
    DoViewChangeDropsLastEntry = 1 << 1,

    /// <summary>A StartView for an older view is accepted (D5 undone).</summary>
    StartViewAcceptsOlderView = 1 << 2,

    /// <summary>The view is not persisted when a view change starts (D1 undone).</summary>
    ViewNotPersisted = 1 << 3,

    /// <summary>The new primary picks the longest log, ignoring log views.</summary>
    LogSelectionIgnoresLogView = 1 << 4,

    /// <summary>Duplicate requests are prepared and executed again.</summary>
    NoDuplicateCheck = 1 << 5,

    /// <summary>A backup acknowledges a Prepare whose entries it could not append.</summary>
    AckWithoutEntries = 1 << 6,

    /// <summary>The new primary starts its view with one DoViewChange fewer than a quorum.</summary>
    ViewStartWithoutQuorum = 1 << 7,

    /// <summary>A replica whose storage lost acknowledged entries trusts what is left: it votes with it and keeps its commit number.</summary>
    TrustDamagedLog = 1 << 8,

    /// <summary>Repaired log entries go back into the log in memory but are never written to disk; the damage flag is cleared all the same.</summary>
    RepairNotWrittenBack = 1 << 9,

    /// <summary>A checkpoint written beside the loop compacts the log when it is taken, before it is written and durable.</summary>
    CompactBeforeCheckpointWritten = 1 << 10,

    /// <summary>The new primary ignores <see cref="Messages.DoViewChange.TailUncertain"/>: a log whose tail storage could not vouch for counts as complete.</summary>
    TrustUncertainTail = 1 << 11,
}
