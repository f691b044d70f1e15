namespace Viewstamped.Messages;

/// <summary>The kind of a message; its value is the command byte of the wire header.</summary>
public enum Command : byte
{
    /// <summary>Client to primary: execute an operation (VR Revisited §4.1 step 1).</summary>
    Request = 1,

    /// <summary>Replica to client: the result of a request, or why it was refused.</summary>
    Reply = 2,

    /// <summary>Primary to backups: a run of consecutive log entries plus the commit number (§4.1 step 3).</summary>
    Prepare = 3,

    /// <summary>Backup to primary: every op up to this one is in my log (§4.1 step 4).</summary>
    PrepareOk = 4,

    /// <summary>Primary to backups: the commit number, sent when idle as a heartbeat (§4.1 step 6).</summary>
    Commit = 5,

    /// <summary>Replica to all: I suspect the primary and propose this view (§4.2 step 1).</summary>
    StartViewChange = 6,

    /// <summary>Replica to the new primary: my log and views for the view change (§4.2 step 2).</summary>
    DoViewChange = 7,

    /// <summary>New primary to all: the log of the new view (§4.2 step 4).</summary>
    StartView = 8,

    /// <summary>Recovering replica to all, with a nonce (§4.3 step 1).</summary>
    Recovery = 9,

    /// <summary>Answer to Recovery; the primary's carries its log (§4.3 step 2).</summary>
    RecoveryResponse = 10,

    /// <summary>Lagging replica to a peer: send me the log after this op (§5.2).</summary>
    GetState = 11,

    /// <summary>Answer to GetState: log entries, or where to fetch a checkpoint (§5.2).</summary>
    NewState = 12,

    /// <summary>Ask a peer for one chunk of a checkpoint.</summary>
    GetCheckpoint = 13,

    /// <summary>One checksummed chunk of a checkpoint.</summary>
    CheckpointChunk = 14,

    /// <summary>Repairing replica to a peer: send me the log entry at this op with this checksum (protocol-aware repair).</summary>
    RequestEntry = 15,

    /// <summary>Answer to RequestEntry: the entry itself, which the receiver verifies against the checksum it asked for.</summary>
    RepairEntry = 16,
}
