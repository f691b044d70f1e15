namespace Viewstamped.Runtime.Storage;

/// <summary>Why a data directory could not be formatted, opened or used.</summary>
public enum StorageError
{
    /// <summary>The data directory does not exist.</summary>
    DirectoryMissing = 1,

    /// <summary>The directory holds no superblock: it was never formatted (run <c>vsr format</c>).</summary>
    NotFormatted,

    /// <summary><c>vsr format</c> refused: the directory already holds a formatted replica.</summary>
    AlreadyFormatted,

    /// <summary>The directory belongs to another cluster.</summary>
    WrongCluster,

    /// <summary>The directory belongs to another replica of the cluster.</summary>
    WrongReplica,

    /// <summary>The directory was written by a format version this build does not read.</summary>
    UnsupportedVersion,

    /// <summary>Every superblock copy failed its checksum: nothing on the disk can be trusted.</summary>
    SuperblockUnreadable,

    /// <summary>The data is damaged in a way that cannot be repaired locally without returning wrong data.</summary>
    Corrupt,

    /// <summary>Another process holds the directory open.</summary>
    InUse,

    /// <summary>An earlier write or fsync failed; what reached the disk is unknown, so the storage must be reopened.</summary>
    Faulted,

    /// <summary>The arguments describe no valid replica (bad cluster id, replica index or configuration).</summary>
    InvalidArgument,
}

/// <summary>A data directory could not be formatted, opened or used; <see cref="Error"/> says why.</summary>
public sealed class StorageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StorageException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public StorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with its reason.</summary>
    public StorageException(StorageError error, string message, Exception? innerException = null)
        : base(message, innerException) => Error = error;

    /// <summary>Why the operation failed.</summary>
    public StorageError Error { get; } = StorageError.Corrupt;
}
