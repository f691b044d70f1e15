namespace Viewstamped.Simulation;

/// <summary>
/// A planted bug, for proving that the simulator's checkers catch real bugs. Most are switches in the
/// protocol core; <see cref="AckBeforePersist"/> is a bug of the environment, planted by the cluster, and
/// <see cref="TrustTornSuperblock"/>, <see cref="SkipLogChecksum"/>, <see cref="SkipCheckpointChecksum"/> and
/// <see cref="TrustTornNewestBatch"/> are bugs of the simulated disk.
/// </summary>
public enum PlantedMutation
{
    /// <summary>No bug: the protocol as written.</summary>
    None = 0,

    /// <summary>The primary commits with one acknowledgement fewer than a quorum.</summary>
    CommitWithoutQuorum,

    /// <summary>A DoViewChange leaves out the sender's last entry.</summary>
    DoViewChangeDropsLastEntry,

    /// <summary>A StartView for an older view is accepted.</summary>
    StartViewAcceptsOlderView,

    /// <summary>The view is not persisted when a view change starts.</summary>
    ViewNotPersisted,

    /// <summary>The new primary picks the longest log, ignoring log views.</summary>
    LogSelectionIgnoresLogView,

    /// <summary>Duplicate requests are prepared and executed again.</summary>
    NoDuplicateCheck,

    /// <summary>A backup acknowledges a Prepare whose entries it could not append.</summary>
    AckWithoutEntries,

    /// <summary>The new primary starts its view with one DoViewChange fewer than a quorum.</summary>
    ViewStartWithoutQuorum,

    /// <summary>A replica whose disk lost acknowledged entries trusts what is left of its log: it votes with it and keeps its commit number.</summary>
    TrustDamagedLog,

    /// <summary>The cluster sends a Ready's messages before persisting it; the Ready reaches the disk at the replica's next flush.</summary>
    AckBeforePersist,

    /// <summary>A replica puts the log entries it repaired from its peers back in its log but never writes them to disk, and clears its damage flag.</summary>
    RepairNotWrittenBack,

    /// <summary>A checkpoint written beside the loop compacts the log as soon as it is taken, before it is written and durable.</summary>
    CompactBeforeCheckpointWritten,

    /// <summary>The new primary ignores the uncertain-tail flag of DoViewChanges: a log storage cut after a tail it could not vouch for counts as complete.</summary>
    TrustUncertainTail,

    /// <summary>The simulated disk's superblock reader trusts the last copy with the highest sequence without checking it (a torn copy wins).</summary>
    TrustTornSuperblock,

    /// <summary>The simulated disk reads log blocks without verifying their checksums (torn and bit-flipped blocks are believed).</summary>
    SkipLogChecksum,

    /// <summary>The simulated disk reads checkpoint files without verifying their checksums (a rotten checkpoint is restored from).</summary>
    SkipCheckpointChecksum,

    /// <summary>The simulated disk ignores its batch ring: a rotten newest batch, though its summary says it was durable, is cut as a torn write.</summary>
    TrustTornNewestBatch,
}

/// <summary>A planted mutation's command-line name and what it breaks.</summary>
/// <param name="Mutation">The mutation.</param>
/// <param name="Name">Its name: lowercase words joined by dashes.</param>
/// <param name="Description">What the bug does.</param>
public sealed record MutationInfo(PlantedMutation Mutation, string Name, string Description);

/// <summary>The catalogue of planted mutations and their names.</summary>
public static class Mutations
{
    /// <summary>Every mutation, <see cref="PlantedMutation.None"/> excluded, in declaration order.</summary>
    public static IReadOnlyList<MutationInfo> All { get; } =
    [
        new(PlantedMutation.CommitWithoutQuorum, "commit-without-quorum", "the primary commits with one acknowledgement fewer than a quorum"),
        new(PlantedMutation.DoViewChangeDropsLastEntry, "do-view-change-drops-last-entry", "a DoViewChange leaves out the sender's last log entry"),
        new(PlantedMutation.StartViewAcceptsOlderView, "start-view-accepts-older-view", "a replica accepts a StartView of an older view (and goes back to it)"),
        new(PlantedMutation.ViewNotPersisted, "view-not-persisted", "a replica does not persist the view it promises when it starts a view change"),
        new(PlantedMutation.LogSelectionIgnoresLogView, "log-selection-ignores-log-view", "the new primary adopts the longest log, ignoring log views"),
        new(PlantedMutation.NoDuplicateCheck, "no-duplicate-check", "the primary prepares and executes a re-sent request again"),
        new(PlantedMutation.AckWithoutEntries, "ack-without-entries", "a backup acknowledges a Prepare whose entries it could not append"),
        new(PlantedMutation.ViewStartWithoutQuorum, "view-start-without-quorum", "the new primary starts its view with one DoViewChange fewer than a quorum"),
        new(PlantedMutation.TrustDamagedLog, "trust-damaged-log", "a replica whose disk lost acknowledged entries votes with what is left of its log and keeps its commit number"),
        new(PlantedMutation.RepairNotWrittenBack, "repair-not-written-back", "a replica puts the log entries it repaired from its peers back in its log without writing them to disk, and clears its damage flag"),
        new(PlantedMutation.CompactBeforeCheckpointWritten, "compact-before-checkpoint-written", "a checkpoint written beside the replica's loop compacts the log when it is taken, before it is written and durable"),
        new(PlantedMutation.TrustUncertainTail, "trust-uncertain-tail", "the new primary ignores the uncertain-tail flag of DoViewChanges, so a log cut after a rotten, unvouched newest batch counts as complete"),
        new(PlantedMutation.AckBeforePersist, "ack-before-persist", "environment: the cluster sends a Ready's messages before the Ready is durable"),
        new(PlantedMutation.TrustTornSuperblock, "trust-torn-superblock", "storage: the superblock reader trusts the last copy with the highest sequence without checking its checksum"),
        new(PlantedMutation.SkipLogChecksum, "skip-log-checksum", "storage: log blocks are read without verifying their checksums"),
        new(PlantedMutation.SkipCheckpointChecksum, "skip-checkpoint-checksum", "storage: checkpoint files are read without verifying their checksums"),
        new(PlantedMutation.TrustTornNewestBatch, "trust-torn-newest-batch", "storage: the batch ring is ignored, so a rotten newest batch that had been made durable is cut as a torn write"),
    ];

    /// <summary>The name of <paramref name="mutation"/> ("none" for no mutation).</summary>
    public static string NameOf(PlantedMutation mutation) =>
        mutation == PlantedMutation.None ? "none" : All.First(info => info.Mutation == mutation).Name;

    /// <summary>Finds a mutation by its name ("none" included); false when no mutation has that name.</summary>
    public static bool TryParse(string name, out PlantedMutation mutation)
    {
        mutation = PlantedMutation.None;
        if (string.Equals(name, "none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var info in All)
        {
            if (string.Equals(info.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                mutation = info.Mutation;
                return true;
            }
        }

        return false;
    }

    /// <summary>The simulated disk's planted bug for <paramref name="mutation"/>; none for the others.</summary>
    internal static DiskBug DiskFlag(PlantedMutation mutation) => mutation switch
    {
        PlantedMutation.TrustTornSuperblock => DiskBug.TrustTornSuperblock,
        PlantedMutation.SkipLogChecksum => DiskBug.SkipLogChecksum,
        PlantedMutation.SkipCheckpointChecksum => DiskBug.SkipCheckpointChecksum,
        PlantedMutation.TrustTornNewestBatch => DiskBug.TrustTornNewestBatch,
        _ => DiskBug.None,
    };

    /// <summary>The core's switch for <paramref name="mutation"/>; none for environment mutations.</summary>
    internal static Mutation CoreFlag(PlantedMutation mutation) => mutation switch
    {
        PlantedMutation.CommitWithoutQuorum => Mutation.CommitWithoutQuorum,
        PlantedMutation.DoViewChangeDropsLastEntry => Mutation.DoViewChangeDropsLastEntry,
        PlantedMutation.StartViewAcceptsOlderView => Mutation.StartViewAcceptsOlderView,
        PlantedMutation.ViewNotPersisted => Mutation.ViewNotPersisted,
        PlantedMutation.LogSelectionIgnoresLogView => Mutation.LogSelectionIgnoresLogView,
        PlantedMutation.NoDuplicateCheck => Mutation.NoDuplicateCheck,
        PlantedMutation.AckWithoutEntries => Mutation.AckWithoutEntries,
        PlantedMutation.ViewStartWithoutQuorum => Mutation.ViewStartWithoutQuorum,
        PlantedMutation.TrustDamagedLog => Mutation.TrustDamagedLog,
        PlantedMutation.RepairNotWrittenBack => Mutation.RepairNotWrittenBack,
        PlantedMutation.CompactBeforeCheckpointWritten => Mutation.CompactBeforeCheckpointWritten,
        PlantedMutation.TrustUncertainTail => Mutation.TrustUncertainTail,
        _ => Mutation.None,
    };
}
