namespace Viewstamped.Simulation;

/// <summary>A planted storage bug of the <see cref="SimulatedDisk"/>, for checker tests only (see <see cref="PlantedMutation"/>).</summary>
internal enum DiskBug
{
    /// <summary>The disk as written.</summary>
    None,

    /// <summary>The superblock reader checks neither checksums nor slot numbers and trusts the last copy with the highest sequence.</summary>
    TrustTornSuperblock,

    /// <summary>Log blocks are decoded without verifying their checksums.</summary>
    SkipLogChecksum,

    /// <summary>Checkpoint files are decoded without verifying their checksums, so a rotten checkpoint is restored from.</summary>
    SkipCheckpointChecksum,

    /// <summary>The loader ignores the batch ring, so damage to the newest batch, even one whose summary says it was made durable, is cut as a torn write.</summary>
    TrustTornNewestBatch,
}
