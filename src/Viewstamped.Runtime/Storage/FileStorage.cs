using System.Buffers;
using System.Diagnostics;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;
using Viewstamped.Messages;

namespace Viewstamped.Runtime.Storage;

/// <summary>What a data directory's superblock says, read without opening the directory for writing.</summary>
/// <param name="Identity">The cluster, replica and configuration it was formatted for.</param>
/// <param name="HardState">The hard state as of the last superblock update (the log may hold a newer commit number).</param>
/// <param name="CheckpointOp">The op of the current checkpoint, if any.</param>
/// <param name="SuperblockCopiesValid">Current, valid superblock copies.</param>
/// <param name="Problems">Superblock copies that were torn, corrupt or stale.</param>
public sealed record StorageInfo(StorageIdentity Identity, HardState HardState, OpNumber? CheckpointOp, int SuperblockCopiesValid, IReadOnlyList<string> Problems);

/// <summary>
/// A replica's durable state in a data directory: a superblock in four copies, a checksummed and
/// hash-chained write-ahead log in segment files, and checkpoint files. It behaves exactly like
/// <see cref="MemoryStorage"/> (one contract test suite runs against both) and survives power loss:
/// <see cref="Persist"/> and <see cref="PersistAsync"/> return only once everything is on disk.
/// <para>
/// Group commit: one background thread writes the log. Every Ready handed to
/// <see cref="PersistAsync"/> (or <see cref="AppendAsync"/>) while the previous fsync runs is written
/// with the next one, as one batch with one fsync. A batch is atomic: after a power failure either all
/// of it or none of it is replayed. Readies are applied in the order the calls were made.
/// </para>
/// <para>
/// After any I/O error the storage is faulted (what reached the disk is unknown after a failed fsync);
/// every later call throws <see cref="StorageException"/> with <see cref="StorageError.Faulted"/>, and
/// the directory must be reopened. docs/storage.md describes the on-disk format and recovery.
/// </para>
/// </summary>
public sealed class FileStorage : IReplicaStorage, ICheckpointSink, IDisposable
{
    /// <summary>What the log is preallocated with; the scanner reads a zero-filled tail as free space.</summary>
    private const int ScratchRecordsMax = 4096;
    private static readonly byte[] Zeros = new byte[64 * 1024];

    private readonly string directory;
    private readonly ulong salt;
    private readonly FileStorageOptions options;
    private readonly SafeFileHandle superblockHandle;
    private readonly LogModel model;
    private readonly SortedDictionary<ulong, WalBase> segmentStarts;
    private readonly ScanResult scan;
    private readonly Dictionary<ulong, SafeFileHandle> readHandles = [];
    private readonly object gate = new();
    private readonly object modelGate = new();

    /// <summary>Ops of checkpoint files being written by a replica (under <see cref="modelGate"/>): not stale, though not referenced yet.</summary>
    private readonly HashSet<ulong> building = [];

    /// <summary>The log writer's scratch lists (only its thread uses them): a batch's buffers, and the records it placed.</summary>
    private readonly List<ReadOnlyMemory<byte>> flushBuffers = [];
    private readonly List<RecordInfo> flushPlaced = [];
    private readonly Thread flusher;
    private SuperblockState superblock;

    /// <summary>What opening found: a torn tail cut, or a newest batch that may have been lost whole (<see cref="MayHaveLostNewestBatch"/>).</summary>
    private readonly bool uncertainAtOpen;
    private List<PendingWrite> queue = [];
    private List<PendingWrite> spare = [];
    /// <summary>Appends (<see cref="AppendAsync"/>) queued for the next batch; only they are gathered for.</summary>
    private int queuedAppends;
    private bool flushing;
    private bool stopping;
    private bool disposed;
    private Exception? fault;
    private bool prepared;
    private (ulong From, ulong To)? voidNeeded;
    private OpNumber? resetNeeded;
    private CheckpointReference? corruptCurrent;

    /// <summary>Set when neither kept checkpoint can restart the replica: the reason, and the previous checkpoint when it is intact.</summary>
    private (string Reason, CheckpointReference? Intact)? checkpointLost;
    private OpNumber logicalHead;
    private ulong activeSegment;
    private SafeFileHandle? activeHandle;

    /// <summary>The batch ring, opened before the first write (opening the directory writes nothing).</summary>
    private BatchRing? ring;
    private long writeOffset;
    private long allocatedEnd;
    private ulong nextSeq;
    private ulong nextBatch;
    private ulong lastChecksum;
    private long records;
    private long batches;
    private long syncs;

    /// <summary>Guards the batch ring's counters, which its own thread (<see cref="RingSyncLoop"/>) reads.</summary>
    private readonly object ringGate = new();
    private Thread? ringSyncer;
    private bool ringSyncerParked;
    private bool ringStopping;
    private long summariesWritten;
    private long summariesSynced;

    /// <summary>When a write was last queued or a batch last finished: the log is idle once this is old enough.</summary>
    private long lastActivityAt;
    private long summarySyncs;
    private long logBytes;
    private long superblockWrites;

    private FileStorage(string directory, SafeFileHandle superblockHandle, SuperblockRead read, ScanResult scan, FileStorageOptions options)
    {
        this.directory = directory;
        this.superblockHandle = superblockHandle;
        this.scan = scan;
        this.options = options;
        superblock = read.State;
        Identity = read.State.Identity;
        salt = StorageLayout.Salt(Identity.Cluster, Identity.Replica);
        model = scan.Model;
        segmentStarts = scan.SegmentStarts;
        model.TrimArchive();
        nextSeq = scan.NextSeq;
        nextBatch = scan.NextBatch;
        lastChecksum = scan.LastChecksum;
        voidNeeded = scan.VoidNeeded;
        uncertainAtOpen = scan.TornCut || MayHaveLostNewestBatch(read.State, scan, options.BootId);
        if (uncertainAtOpen || read.State.HardState.TailUncertain)
        {
            // A cut tail nobody vouched for, or a newest batch that may have been lost whole (now, or at an
            // earlier open whose replica has not yet installed a peer's log), may have held an acknowledged
            // batch: the hard state carries that until the replica persists one without it.
            model.HardState = model.HardState with { TailUncertain = true };
        }

        Health = CheckHealth(read);
        logicalHead = model.Head;
        flusher = new Thread(FlushLoop) { IsBackground = true, Name = $"vsr-wal-{Identity.Replica}" };
        flusher.Start();
    }

    /// <summary>The cluster, replica and configuration the directory was formatted for.</summary>
    public StorageIdentity Identity { get; }

    /// <summary>The data directory.</summary>
    public string Directory => directory;

    /// <summary>What opening the directory found wrong; see <see cref="StorageHealth"/>.</summary>
    public StorageHealth Health { get; }

    /// <summary>Counters since the directory was opened.</summary>
    public FileStorageStatistics Statistics
    {
        get
        {
            lock (modelGate)
            {
                return new FileStorageStatistics
                {
                    Records = records,
                    Batches = batches,
                    Syncs = syncs + Interlocked.Read(ref summarySyncs),
                    SummarySyncs = Interlocked.Read(ref summarySyncs),
                    LogBytes = logBytes,
                    SuperblockWrites = superblockWrites,
                    RecordsScanned = scan.RecordsScanned,
                    BytesScanned = scan.BytesScanned,
                };
            }
        }
    }

    /// <summary>
    /// Creates a data directory for one replica (the bootstrap step VR leaves out): the directory if
    /// needed, and a superblock holding <paramref name="identity"/>, view 0 and an empty log. Refuses a
    /// directory that already holds a superblock, a log segment or a checkpoint, so a formatted replica
    /// is never overwritten.
    /// </summary>
    public static void Format(string directory, StorageIdentity identity)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(identity);
        if (Superblock.CheckFits(identity) is { } problem)
        {
            throw new StorageException(StorageError.InvalidArgument, problem);
        }

        var full = Path.GetFullPath(directory);
        if (System.IO.Directory.Exists(full))
        {
            var existing = System.IO.Directory.EnumerateFiles(full)
                .Select(Path.GetFileName)
                .FirstOrDefault(name => name == StorageLayout.SuperblockFileName || name == StorageLayout.BatchRingFileName
                    || StorageLayout.TryParseSegmentFileName(name!, out _) || StorageLayout.TryParseCheckpointFileName(name!, out _));
            if (existing is not null)
            {
                throw new StorageException(StorageError.AlreadyFormatted,
                    $"'{full}' already holds replica data ({existing}); refusing to overwrite it. Use an empty directory.");
            }
        }
        else
        {
            System.IO.Directory.CreateDirectory(full);
            if (Path.GetDirectoryName(full) is { } parent)
            {
                Durability.SyncDirectory(parent);
            }
        }

        var state = new SuperblockState(1, identity, 0, default, 0, WalBase.Initial, null, null);
        Durability.WriteFileAtomically(Path.Combine(full, StorageLayout.SuperblockFileName), Superblock.EncodeFile(state));
    }

    /// <summary>Reads a data directory's superblock without opening it for writing.</summary>
    public static StorageInfo Inspect(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var full = Path.GetFullPath(directory);
        using var handle = OpenSuperblock(full, FileAccess.Read, FileShare.ReadWrite);
        var read = Superblock.Read(handle, Path.Combine(full, StorageLayout.SuperblockFileName));
        return new StorageInfo(read.State.Identity, read.State.HardState, read.State.Current?.Op, read.ValidCopies, read.Problems);
    }

    /// <summary>
    /// Opens a formatted data directory for cluster <paramref name="cluster"/> and replica
    /// <paramref name="replica"/>: reads the superblock, scans and verifies the whole log (cutting a
    /// torn tail, reporting corruption in <see cref="Health"/>) and checks the checkpoints. Opening
    /// changes nothing on disk; repairs (cutting a torn tail, voiding what follows corruption) are
    /// written with the first <see cref="Persist"/>. Throws <see cref="StorageException"/> when the
    /// directory is missing, unformatted, belongs to another cluster or replica, has another format
    /// version, has no readable superblock copy, or is open in another process.
    /// </summary>
    public static FileStorage Open(string directory, UInt128 cluster, ReplicaIndex replica, FileStorageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var full = Path.GetFullPath(directory);
        var handle = OpenSuperblock(full, FileAccess.ReadWrite, FileShare.None);
        try
        {
            var read = Superblock.Read(handle, Path.Combine(full, StorageLayout.SuperblockFileName));
            var identity = read.State.Identity;
            if (identity.Cluster != cluster)
            {
                throw new StorageException(StorageError.WrongCluster,
                    $"'{full}' belongs to cluster {StorageIdentity.FormatCluster(identity.Cluster)}, not {StorageIdentity.FormatCluster(cluster)}");
            }

            if (identity.Replica != replica)
            {
                throw new StorageException(StorageError.WrongReplica, $"'{full}' belongs to replica {identity.Replica}, not replica {replica}");
            }

            var salt = StorageLayout.Salt(identity.Cluster, identity.Replica);
            var scan = WalScanner.Scan(full, salt, identity, read.State);
            return new FileStorage(full, handle, read, scan, options ?? new FileStorageOptions());
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// What a restarting replica finds: hard state, latest valid checkpoint and the retained log, read
    /// back from disk and verified. Waits for writes in flight first. Never returns corrupt data. When
    /// the current checkpoint is corrupt and the previous one cannot replace it (it is corrupt too, or
    /// the log after it was reclaimed), it returns no log, the intact previous checkpoint if there is
    /// one, and <see cref="DurableState.LogDamaged"/>: the replica then takes a checkpoint and the log
    /// from its peers (<see cref="StorageHealth.CheckpointLost"/>).
    /// </summary>
    public DurableState Load()
    {
        WaitIdle();
        EntryLocation[] locations;
        EntryLocation?[]? suffix = null;
        CheckpointReference? reference;
        HardState hardState;
        OpNumber head;
        var lost = false;
        lock (modelGate)
        {
            hardState = model.HardState;
            head = model.Head;
            reference = model.Current;
            IEnumerable<EntryLocation> source = model.Entries;
            if (corruptCurrent is { } corrupt && model.Current == corrupt)
            {
                if (checkpointLost is { } gone)
                {
                    // Nothing here can rebuild the state this replica had: start from what is intact and
                    // let the core fetch the rest (it trusts no log after its checkpoint when damaged).
                    lost = true;
                    reference = gone.Intact;
                    head = gone.Intact?.Op ?? OpNumber.Zero;
                    source = [];
                }
                else
                {
                    reference = model.Previous;
                    source = model.Archive.Concat(model.Entries).Where(e => e.Op > model.Previous!.Value.Op);
                }
            }
            else if (scan.DamagedSuffix is { } placed && voidNeeded is not null && resetNeeded is null && !hardState.LogDamaged)
            {
                // Until the first write after opening voids the damaged range, what the scan found past the
                // damage is offered for per-entry repair: the log up to where it starts, and the suffix.
                // Not when the log was already flagged damaged: an earlier cut may have removed entries
                // this replica acknowledged that no suffix names, so only a peer's whole log will do.
                head = placed.Head;
                var cut = head;
                source = source.Where(e => e.Op <= cut);
                suffix = [.. placed.Entries];
            }

            locations = source.ToArray();
        }

        Checkpoint? checkpoint = null;
        if (reference is { } r)
        {
            checkpoint = CheckpointFile.Read(directory, salt, r, out var problem)
                ?? throw new StorageException(StorageError.Corrupt, $"{problem} (it was valid when the directory was opened); reopen the directory");
        }

        // A log cut short by corruption may lack entries this replica acknowledged: the core then
        // withholds its vote until a peer gives it a log (protocol-aware repair).
        return new DurableState(hardState, checkpoint, ReadEntries(locations), head)
        {
            LogDamaged = lost || Health.LogCorrupt || hardState.LogDamaged,
            TailUncertain = hardState.TailUncertain,
            DamagedSuffix = suffix is null ? [] : ReadSuffix(suffix),
        };
    }

    /// <summary>The entries at <paramref name="locations"/>, null where an entry's body was lost.</summary>
    private LogEntry?[] ReadSuffix(EntryLocation?[] locations)
    {
        var intact = ReadEntries([.. locations.OfType<EntryLocation>()]);
        var entries = new LogEntry?[locations.Length];
        var next = 0;
        for (var i = 0; i < locations.Length; i++)
        {
            entries[i] = locations[i] is null ? null : intact[next++];
        }

        return entries;
    }

    /// <summary>
    /// A builder that writes the checkpoint at <paramref name="op"/> straight to its file (unsynced,
    /// with a blank header), so the replica never holds it in memory. Persisting the Ready that
    /// carries the built checkpoint writes the header and syncs the file before the log names it.
    /// </summary>
    public CheckpointBuilder Begin(OpNumber op)
    {
        ThrowIfFaulted();
        var path = StorageLayout.CheckpointTemporaryFileName(Path.Combine(directory, StorageLayout.CheckpointFileName(op)));
        lock (modelGate)
        {
            building.Add(op.Value);
            return new FileCheckpointBuilder(path, salt, () => Discard(op, path));
        }
    }

    /// <summary>
    /// Syncs the data of a checkpoint one of this storage's builders wrote, on the caller's thread (the
    /// host writes checkpoints beside its loop), so that persisting the Ready that carries it later
    /// syncs little more than the file's header, and the log writer is not held up by the whole state.
    /// </summary>
    internal static void SyncWritten(Checkpoint checkpoint)
    {
        if (checkpoint.State is FileCheckpointState { SaltedHash: not null } built)
        {
            using var handle = File.OpenHandle(built.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            Durability.SyncData(handle);
        }
    }

    /// <summary>Deletes an abandoned checkpoint's temporary file.</summary>
    private void Discard(OpNumber op, string path)
    {
        lock (modelGate)
        {
            building.Remove(op.Value);
            File.Delete(path);
        }
    }

    /// <summary>Persists <paramref name="ready"/> (log changes, hard state, checkpoint, compaction) and returns once it is durable.</summary>
    public void Persist(Ready ready)
    {
        var task = PersistAsync(ready);
        if (!task.IsCompletedSuccessfully)
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Queues <paramref name="ready"/>'s persistence part and completes once it is durable. Calls are
    /// applied in call order; every Ready queued while an fsync runs shares the next fsync. Throws at
    /// once (and queues nothing) when the Ready does not fit the log, e.g. an append that does not
    /// follow the head. The Ready is encoded before this returns and not referenced afterwards, so the
    /// caller may reuse it while the write is still queued.
    /// </summary>
    public ValueTask PersistAsync(Ready ready) => Queue(ready, append: false);

    /// <summary>
    /// Appends one entry with group commit and completes once it is durable. Entries must arrive in op
    /// order: concurrent writers take their op and call this under one lock, then await outside it.
    /// </summary>
    public ValueTask AppendAsync(LogEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return Queue(new Ready { LogChanges = { new LogChange(LogChangeKind.Append, entry.Op, entry) } }, append: true);
    }

    /// <summary>
    /// Queues a write for the log writer. <paramref name="append"/> marks a closed-loop appender's
    /// write, which the writer gathers for (see <see cref="FileStorageOptions.GroupCommitGather"/>).
    /// </summary>
    private ValueTask Queue(Ready ready, bool append)
    {
        ArgumentNullException.ThrowIfNull(ready);
        var write = PendingWrite.Encode(ready, salt);
        lock (gate)
        {
            try
            {
                ObjectDisposedException.ThrowIf(disposed, this);
                ThrowIfFaulted();
                logicalHead = PendingWrite.Validate(ready, logicalHead);
            }
            catch
            {
                write.Release();
                throw;
            }

            queue.Add(write);
            Volatile.Write(ref lastActivityAt, Stopwatch.GetTimestamp());
            if (append)
            {
                queuedAppends++;
            }

            Monitor.PulseAll(gate);
        }

        return new ValueTask(write.Done.Task);
    }

    /// <summary>Writes what is queued, stops the log writer and closes every file.</summary>
    public void Dispose()
    {
        lock (gate)
        {
            if (disposed)
            {
                return;
            }

            disposed = true;
            stopping = true;
            Monitor.PulseAll(gate);
        }

        flusher.Join();
        lock (ringGate)
        {
            ringStopping = true;
            Monitor.PulseAll(ringGate);
        }

        ringSyncer?.Join();
        MarkClosedCleanly();
        activeHandle?.Dispose();
        ring?.Dispose();
        foreach (var handle in readHandles.Values)
        {
            handle.Dispose();
        }

        superblockHandle.Dispose();
    }

    /// <summary>
    /// True when an acknowledged newest batch may be missing without a trace. A lost write (the disk
    /// acknowledged the fdatasync, the data never landed) shows only once a power loss dropped the page cache,
    /// and then reads as zeros, like unused space; its summary in the batch ring, not yet synced, is gone too.
    /// Within the boot that wrote the log the page cache kept every summary written before a caller was
    /// released, so the ring vouches for each acknowledged batch. After a reboot only a clean close at the
    /// log's current end says nothing followed. Without boot ids, summaries lost for batches that are still
    /// there say the page cache was lost (or the newest batch's fsync had not returned: a false alarm, but safe).
    /// </summary>
    private static bool MayHaveLostNewestBatch(SuperblockState superblock, ScanResult scan, Guid? boot)
    {
        if (boot is { } now && now != Guid.Empty && superblock.BootId != Guid.Empty)
        {
            var lostPageCache = now != superblock.BootId && !(superblock.ClosedCleanly && superblock.CleanSeq == scan.NextSeq - 1);
            if (lostPageCache)
            {
                scan.Problems.Add($"the machine restarted since the log was last written (boot {superblock.BootId}, now {now}) without a clean close at its last record: "
                    + "a newest batch lost whole would not show, so the tail is uncertain");
            }

            return lostPageCache;
        }

        if (scan.EndsPastCoverage)
        {
            scan.Problems.Add("the log runs past what the durable batch summaries vouch for, so their page cache was lost: a newest batch lost whole would not show, so the tail is uncertain");
        }

        return scan.EndsPastCoverage;
    }

    /// <summary>
    /// After the final syncs of a graceful close: records that nothing follows the log's last record, so an
    /// open after a reboot need not doubt its tail. Only when this open wrote (a close that wrote nothing
    /// leaves the directory as it found it) and nothing failed. A failure here costs only that doubt.
    /// </summary>
    private void MarkClosedCleanly()
    {
        if (!prepared || fault is not null)
        {
            return;
        }

        var state = superblock with { Sequence = superblock.Sequence + 1, ClosedCleanly = true, CleanSeq = nextSeq - 1 };
        try
        {
            Superblock.Write(superblockHandle, state);
            superblock = state;
        }
        catch (IOException)
        {
            // The superblock still says the log is open for writing: the next open after a reboot is merely cautious.
        }
    }

    private static SafeFileHandle OpenSuperblock(string directory, FileAccess access, FileShare share)
    {
        if (!System.IO.Directory.Exists(directory))
        {
            throw new StorageException(StorageError.DirectoryMissing, $"data directory '{directory}' does not exist; create it with 'vsr format'");
        }

        var path = Path.Combine(directory, StorageLayout.SuperblockFileName);
        if (!File.Exists(path))
        {
            throw new StorageException(StorageError.NotFormatted, $"'{directory}' is not a formatted data directory (it has no superblock); run 'vsr format'");
        }

        try
        {
            return File.OpenHandle(path, FileMode.Open, access, share);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new StorageException(StorageError.InUse, $"'{directory}' is in use by another process ({e.Message})", e);
        }
    }

    private StorageHealth CheckHealth(SuperblockRead read)
    {
        var problems = new List<string>(read.Problems);
        problems.AddRange(scan.Problems);
        var corruptCheckpoints = new List<OpNumber>();
        if (model.Current is { } current && CheckpointFile.Read(directory, salt, current, out var currentProblem) is null)
        {
            corruptCheckpoints.Add(current.Op);
            problems.Add($"corrupt current checkpoint: {currentProblem}");
            corruptCurrent = current;
            string? fallbackProblem = null;
            if (model.Previous is not { } previous)
            {
                fallbackProblem = "there is no previous checkpoint";
            }
            else if (CheckpointFile.Read(directory, salt, previous, out var previousProblem) is null)
            {
                corruptCheckpoints.Add(previous.Op);
                fallbackProblem = $"the previous checkpoint is corrupt too: {previousProblem}";
            }
            else if (!Covers(previous.Op))
            {
                fallbackProblem = $"the log no longer holds every op after the previous checkpoint (op {previous.Op})";
            }

            if (fallbackProblem is null)
            {
                problems.Add($"using the previous checkpoint (op {model.Previous!.Value.Op}) and the log after it instead");
            }
            else
            {
                var intact = corruptCheckpoints.Count == 1 ? model.Previous : null;
                var reason = $"the current checkpoint (op {current.Op}) in '{directory}' is corrupt and {fallbackProblem}; "
                    + "this replica cannot rebuild its state from its own disk: it restarts "
                    + (intact is { } p ? $"from the previous checkpoint (op {p.Op})" : "empty")
                    + " as damaged and fetches a checkpoint and the log from its peers";
                checkpointLost = (reason, intact);
                problems.Add(reason);
            }
        }

        if (scan.CorruptAtSeq is not null)
        {
            // The log was cut; a checkpoint the superblock names may lie beyond the cut: then the log restarts empty at it.
            var checkpointOp = (corruptCurrent is null ? model.Current : model.Previous)?.Op;
            if (checkpointOp is { } op && model.Head < op)
            {
                resetNeeded = op;
                model.Apply(new RecordInfo(new RecordHeader(0, RecordType.Reset, true, 0, 0, 0, 0, 0, op), 0, 0));
            }
        }

        return new StorageHealth
        {
            SuperblockCopies = StorageLayout.SuperblockCopies,
            SuperblockCopiesValid = read.ValidCopies,
            LogCorrupt = scan.CorruptAtSeq is not null,
            CorruptEntries = scan.CorruptEntries,
            EntriesAfterCorruption = scan.EntriesAfterCorruption,
            TornRecords = scan.TornRecords,
            TornBytes = scan.TornBytes,
            CorruptCheckpoints = corruptCheckpoints,
            UsesPreviousCheckpoint = corruptCurrent is not null && checkpointLost is null,
            CheckpointLost = checkpointLost is not null,
            Problems = problems,
        };
    }

    /// <summary>True when the archive and the retained entries hold every op from <paramref name="checkpoint"/>+1 to the head.</summary>
    private bool Covers(OpNumber checkpoint)
    {
        var expected = checkpoint.Next;
        foreach (var entry in model.Archive.Concat(model.Entries))
        {
            if (entry.Op < expected)
            {
                continue;
            }

            if (entry.Op != expected)
            {
                return false;
            }

            expected = expected.Next;
        }

        return expected.Previous == model.Head;
    }

    private void ThrowIfFaulted()
    {
        if (fault is not null)
        {
            throw new StorageException(StorageError.Faulted, $"the storage in '{directory}' failed earlier ({fault.Message}); reopen it", fault);
        }
    }

    private void WaitIdle()
    {
        lock (gate)
        {
            while ((queue.Count > 0 || flushing) && fault is null)
            {
                Monitor.Wait(gate);
            }

            ThrowIfFaulted();
        }
    }

    private void FlushLoop()
    {
        var previousBatch = 0;
        while (true)
        {
            // Concurrent appenders whose appends just completed re-enqueue a moment later; waiting for them
            // briefly lets one fsync cover all of them instead of splitting them into two alternating
            // halves. Readies (PersistAsync) never wait: a replica loop hands over one per turn without
            // waiting for the previous one, so its next Ready comes when the network brings work, not
            // when this fsync completes, and waiting for it would only delay the fsync (and spin a core).
            if (previousBatch > 1 && options.GroupCommitGather > TimeSpan.Zero)
            {
                var waited = Stopwatch.StartNew();
                while (Volatile.Read(ref queuedAppends) < previousBatch && waited.Elapsed < options.GroupCommitGather && !stopping)
                {
                    Thread.Yield();
                }
            }

            List<PendingWrite> batch;
            lock (gate)
            {
                while (queue.Count == 0 && !stopping)
                {
                    Monitor.Wait(gate);
                }

                if (queue.Count == 0)
                {
                    return;
                }

                batch = queue;
                queue = spare;
                spare = batch;
                flushing = true;
                previousBatch = queuedAppends;
                queuedAppends = 0;
            }

            Exception? error = null;
            if (fault is null)
            {
                try
                {
                    Flush(batch);
                }
                catch (Exception e)
                {
                    error = e;
                }
            }

            lock (gate)
            {
                if (error is not null)
                {
                    fault = error;
                }

                flushing = false;
                Monitor.PulseAll(gate);
            }

            foreach (var write in batch)
            {
                // The batch is written (or failed): its buffers go back before its caller hears of it.
                write.Release();
                if (fault is null)
                {
                    write.Done.TrySetResult();
                }
                else
                {
                    write.Done.TrySetException(new StorageException(StorageError.Faulted, $"writing to '{directory}' failed: {fault.Message}", fault));
                }
            }

            batch.Clear();
        }
    }

    /// <summary>
    /// The batch ring's own thread: once the log has been idle for <see cref="FileStorageOptions.SummarySyncDelay"/>
    /// (nothing queued, no batch being written, and neither for that long) it fdatasyncs the ring, and once more when
    /// the storage closes. The log writer never waits for it: a batch that arrives meanwhile is written and
    /// synced beside it.
    /// </summary>
    private void RingSyncLoop()
    {
        while (NextRingSync() is { } target)
        {
            try
            {
                ring!.Sync();
            }
            catch (Exception e)
            {
                lock (gate)
                {
                    fault ??= e;
                    Monitor.PulseAll(gate);
                }

                return;
            }

            lock (ringGate)
            {
                summariesSynced = Math.Max(summariesSynced, target);
                summarySyncs++;
            }
        }
    }

    /// <summary>
    /// Waits, on the ring's thread, until summaries are unsynced and the log is idle (or the storage is
    /// closing); returns how many summaries the sync about to run covers, or null once there is nothing
    /// left to sync and the storage is closing.
    /// </summary>
    private long? NextRingSync()
    {
        lock (ringGate)
        {
            while (true)
            {
                if (summariesWritten == summariesSynced)
                {
                    if (ringStopping)
                    {
                        return null;
                    }

                    ringSyncerParked = true;
                    Monitor.Wait(ringGate);
                    ringSyncerParked = false;
                    continue;
                }

                var quiet = Stopwatch.GetElapsedTime(Volatile.Read(ref lastActivityAt));
                if (ringStopping || (quiet >= options.SummarySyncDelay && !Volatile.Read(ref flushing) && Volatile.Read(ref queuedAppends) == 0))
                {
                    return summariesWritten;
                }

                Monitor.Wait(ringGate, quiet >= options.SummarySyncDelay ? options.SummarySyncDelay : options.SummarySyncDelay - quiet);
            }
        }
    }

    private void Flush(List<PendingWrite> batch)
    {
        if (!prepared)
        {
            PrepareForWriting();
        }

        foreach (var write in batch)
        {
            if (write.Checkpoint is { } checkpoint)
            {
                // From now on the replica reads this checkpoint from its file (to serve state transfer),
                // so a copy in memory can go: a large state is not held for as long as it is the latest.
                checkpoint.ReplaceState(CheckpointFile.Write(directory, Identity, salt, checkpoint));
                lock (modelGate)
                {
                    building.Remove(checkpoint.Op.Value);
                }

                syncs += 2;
            }
        }

        // Only the log writer's thread flushes, so the two lists are reused from batch to batch.
        var buffers = flushBuffers;
        var placed = flushPlaced;
        buffers.Clear();
        placed.Clear();
        var fixups = Fixups();
        var recordCount = fixups?.RecordCount ?? 0;
        foreach (var write in batch)
        {
            recordCount += write.RecordCount;
        }

        if (recordCount > 0)
        {
            if (writeOffset >= options.SegmentSizeBytes)
            {
                Roll();
            }

            var offset = writeOffset;
            var firstSeq = nextSeq;
            var remaining = recordCount;
            if (fixups is not null)
            {
                Place(fixups, ref offset, ref remaining, buffers, null);
            }

            foreach (var write in batch)
            {
                Place(write, ref offset, ref remaining, buffers, placed);
            }

            Preallocate(offset, buffers);
            RandomAccess.Write(activeHandle!, buffers, writeOffset);
            buffers.Clear();
            fixups?.Release();
            Sync(activeHandle!);

            // Only now, with the batch durable, may the ring say so; and before any caller is released, so a
            // batch that was acknowledged has its summary at least in the page cache (a killed process keeps it).
            ring!.Write(Summarize(firstSeq, writeOffset, offset, placed));
            lock (ringGate)
            {
                summariesWritten++;
                Volatile.Write(ref lastActivityAt, Stopwatch.GetTimestamp());
                if (ringSyncerParked)
                {
                    Monitor.Pulse(ringGate);
                }
            }
            logBytes += offset - writeOffset;
            writeOffset = offset;
            nextBatch++;
            batches++;
            records += recordCount;
            voidNeeded = null;
            resetNeeded = null;
        }

        lock (modelGate)
        {
            foreach (var record in placed)
            {
                if (model.Apply(record) is { } contradiction)
                {
                    throw new InvariantViolationException($"storage model: {contradiction}");
                }

                if (record.Header.Type == RecordType.Checkpoint)
                {
                    // A checkpoint just written and synced (taken again, or fetched from a peer) is current.
                    corruptCurrent = null;
                    checkpointLost = null;
                }
            }

            UpdateSuperblock();
        }

        // A batch that carried a whole log (state transfer) need not keep its scratch space afterwards.
        placed.Clear();
        if (placed.Capacity > ScratchRecordsMax)
        {
            placed.Capacity = ScratchRecordsMax;
        }
    }

    /// <summary>The summary of the batch just synced: records from <paramref name="firstSeq"/> to the last one placed, bytes <paramref name="start"/> to <paramref name="end"/>.</summary>
    private BatchSummary Summarize(ulong firstSeq, long start, long end, List<RecordInfo> placed)
    {
        ulong firstOp = 0;
        ulong lastOp = 0;
        foreach (var record in placed)
        {
            if (record.Header.Type == RecordType.Entry)
            {
                firstOp = firstOp == 0 ? record.Header.Op.Value : firstOp;
                lastOp = record.Header.Op.Value;
            }
        }

        return new BatchSummary(nextBatch, firstSeq, nextSeq - 1, activeSegment, start, end, lastChecksum, firstOp, lastOp);
    }

    /// <summary>
    /// When the batch ending at <paramref name="end"/> runs past the zeros written ahead, adds the next
    /// stretch of zeros to the same write (see <see cref="FileStorageOptions.PreallocateBytes"/>): that
    /// fsync grows the file once, and the ones after it find their blocks in place.
    /// </summary>
    private void Preallocate(long end, List<ReadOnlyMemory<byte>> buffers)
    {
        if (end <= allocatedEnd || options.PreallocateBytes <= 0)
        {
            return;
        }

        var target = Math.Max(end, Math.Min(end + options.PreallocateBytes, options.SegmentSizeBytes));
        for (var at = end; at < target; at += Zeros.Length)
        {
            buffers.Add(Zeros.AsMemory(0, (int)Math.Min(Zeros.Length, target - at)));
        }

        allocatedEnd = target;
    }

    private void Place(PendingWrite write, ref long offset, ref int remaining, List<ReadOnlyMemory<byte>> buffers, List<RecordInfo>? placed)
    {
        if (write.RecordCount == 0)
        {
            return;
        }

        foreach (var record in write.Records)
        {
            remaining--;
            var header = write.Buffer.Span.Slice(record.Offset, StorageLayout.RecordHeaderSize);
            var checksum = RecordHeader.Write(header, salt, record.Type, remaining == 0, nextSeq, nextBatch, lastChecksum, record.BodyChecksum, record.BodyLength, record.Op);
            var info = new RecordInfo(
                new RecordHeader(checksum, record.Type, remaining == 0, nextSeq, nextBatch, lastChecksum, record.BodyChecksum, record.BodyLength, record.Op),
                activeSegment, offset + record.Offset, record.HardState, record.Checkpoint);
            placed?.Add(info);
            nextSeq++;
            lastChecksum = checksum;
        }

        buffers.Add(write.Buffer);
        offset += write.Length;
    }

    private PendingWrite? Fixups()
    {
        if (voidNeeded is null && resetNeeded is null)
        {
            return null;
        }

        var fixups = new Ready();
        if (resetNeeded is { } reset)
        {
            fixups.LogChanges.Add(new LogChange(LogChangeKind.Reset, reset, null));
        }

        var write = PendingWrite.Encode(fixups, salt, voidNeeded);
        return write;
    }

    /// <summary>
    /// Before the first write after opening: cut the torn tail (truncate the last segment after the last
    /// record kept, delete segments after it), delete leftovers (segments before the base, temporary files,
    /// unreferenced checkpoints), and start a fresh segment. Each step is idempotent, so a power failure
    /// in the middle only makes the next open find and redo the same.
    /// </summary>
    private void PrepareForWriting()
    {
        prepared = true;
        ring = BatchRing.Open(directory, salt);
        ringSyncer = new Thread(RingSyncLoop) { IsBackground = true, Name = $"vsr-ring-{Identity.Replica}" };
        ringSyncer.Start();
        RecordWriter();

        var changedNames = false;
        ulong newSegment;
        if (scan.TailSegment == 0)
        {
            foreach (var segment in scan.Segments)
            {
                DeleteSegment(segment);
                changedNames = true;
            }

            newSegment = superblock.Base.Segment;
        }
        else
        {
            foreach (var segment in scan.Segments.Where(s => s > scan.TailSegment))
            {
                DeleteSegment(segment);
                changedNames = true;
            }

            var path = SegmentPath(scan.TailSegment);
            if (scan.TailOffset <= StorageLayout.SegmentHeaderSize)
            {
                DeleteSegment(scan.TailSegment);
                changedNames = true;
                newSegment = scan.TailSegment;
            }
            else
            {
                if (new FileInfo(path).Length > scan.TailOffset)
                {
                    using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                    RandomAccess.SetLength(handle, scan.TailOffset);
                    Sync(handle);
                }

                newSegment = scan.TailSegment + 1;
            }
        }

        foreach (var file in System.IO.Directory.EnumerateFiles(directory))
        {
            var name = Path.GetFileName(file);
            if (StorageLayout.TryParseSegmentFileName(name, out var segment))
            {
                if (segment < superblock.Base.Segment)
                {
                    File.Delete(file);
                    changedNames = true;
                }

                continue;
            }

            var temporary = name.EndsWith(".tmp", StringComparison.Ordinal);
            var checkpoint = StorageLayout.TryParseCheckpointFileName(temporary ? name[..^4] : name, out var op);
            if (!temporary && !checkpoint)
            {
                continue;
            }

            // Checked and deleted under the lock Begin takes, so a checkpoint the replica has started
            // writing (while replaying its log at start-up) is never taken for stale.
            lock (modelGate)
            {
                if (!(checkpoint && building.Contains(op.Value)) && (temporary || !IsReferenced(op)))
                {
                    File.Delete(file);
                    changedNames = true;
                }
            }
        }

        if (changedNames)
        {
            SyncDirectory();
        }

        CreateSegment(newSegment);
    }

    /// <summary>
    /// Before the first batch after opening, one superblock update records what a later open must know:
    /// that the tail was uncertain (cutting a torn tail below erases the only sign of it, and writing the
    /// boot id erases the sign of a reboot), which boot writes the log from now on, and that it is no
    /// longer closed cleanly. Only these change; what the superblock covers does not. Skipped when the
    /// superblock says all that already (a restart within the same boot).
    /// </summary>
    private void RecordWriter()
    {
        var state = superblock with
        {
            Sequence = superblock.Sequence + 1,
            HardState = superblock.HardState with { TailUncertain = superblock.HardState.TailUncertain || uncertainAtOpen },
            BootId = options.BootId ?? Guid.Empty,
            ClosedCleanly = false,
            CleanSeq = 0,
        };
        if (state == superblock with { Sequence = state.Sequence })
        {
            return;
        }

        lock (modelGate)
        {
            syncs += Superblock.Write(superblockHandle, state);
            superblockWrites++;
            superblock = state;
        }
    }

    private bool IsReferenced(OpNumber op) =>
        model.Current?.Op == op || model.Previous?.Op == op || superblock.Current?.Op == op || superblock.Previous?.Op == op;

    private void Roll()
    {
        activeHandle!.Dispose();
        activeHandle = null;
        CreateSegment(activeSegment + 1);
    }

    private void CreateSegment(ulong segment)
    {
        var path = SegmentPath(segment);
        var handle = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        var header = SegmentHeader.Encode(Identity, segment, nextSeq);
        RandomAccess.Write(handle, header, 0);
        Sync(handle);
        SyncDirectory();
        activeHandle = handle;
        activeSegment = segment;
        writeOffset = header.Length;
        allocatedEnd = header.Length;
        lock (modelGate)
        {
            segmentStarts[segment] = new WalBase(segment, nextSeq, nextBatch, model.Head, lastChecksum);
        }
    }

    /// <summary>
    /// Rewrites the superblock when what it must hold changed: the view or log view (a promise that must
    /// survive even a corrupt log), the checkpoints, or the oldest segment still needed. Then deletes what
    /// the new superblock no longer needs. Called with the model lock held.
    /// </summary>
    private void UpdateSuperblock()
    {
        var oldest = Math.Min(model.OldestSegmentNeeded() ?? activeSegment, activeSegment);
        var newBase = superblock.Base;
        if (oldest > newBase.Segment && segmentStarts.TryGetValue(oldest, out var start))
        {
            newBase = start;
        }

        var hard = model.HardState;
        if (hard.View == superblock.HardState.View && hard.LogView == superblock.HardState.LogView
            && hard.LogDamaged == superblock.HardState.LogDamaged && hard.TailUncertain == superblock.HardState.TailUncertain
            && model.Current == superblock.Current && model.Previous == superblock.Previous && newBase == superblock.Base)
        {
            return;
        }

        var state = superblock with
        {
            Sequence = superblock.Sequence + 1,
            HardState = hard,
            WalSeq = nextSeq - 1,
            Base = newBase,
            Current = model.Current,
            Previous = model.Previous,
        };
        syncs += Superblock.Write(superblockHandle, state);
        superblockWrites++;
        var old = superblock;
        superblock = state;
        foreach (var segment in segmentStarts.Keys.Where(s => s < newBase.Segment).ToList())
        {
            segmentStarts.Remove(segment);
        }

        for (var segment = old.Base.Segment; segment < newBase.Segment; segment++)
        {
            DeleteSegment(segment);
        }

        foreach (var reference in new[] { old.Current, old.Previous })
        {
            if (reference is { } r && !IsReferenced(r.Op))
            {
                File.Delete(Path.Combine(directory, StorageLayout.CheckpointFileName(r.Op)));
            }
        }
    }

    private void DeleteSegment(ulong segment)
    {
        lock (readHandles)
        {
            if (readHandles.Remove(segment, out var handle))
            {
                handle.Dispose();
            }
        }

        File.Delete(SegmentPath(segment));
    }

    private string SegmentPath(ulong segment) => Path.Combine(directory, StorageLayout.SegmentFileName(segment));

    private void Sync(SafeFileHandle handle)
    {
        Durability.SyncData(handle);
        syncs++;
    }

    private void SyncDirectory()
    {
        Durability.SyncDirectory(directory);
        syncs++;
    }

    /// <summary>Reads entries back, a run of neighbouring records per read, verifying every checksum again.</summary>
    private LogEntry[] ReadEntries(EntryLocation[] locations)
    {
        var entries = new LogEntry[locations.Length];
        const long chunkMax = 16L * 1024 * 1024;
        var buffer = Array.Empty<byte>();
        for (var i = 0; i < locations.Length;)
        {
            var first = locations[i];
            var end = first.Offset + StorageLayout.RecordHeaderSize + StorageLayout.Align8(first.BodyLength);
            var j = i + 1;
            while (j < locations.Length && locations[j].Segment == first.Segment && locations[j].Offset >= end
                   && locations[j].Offset + StorageLayout.RecordHeaderSize + StorageLayout.Align8(locations[j].BodyLength) - first.Offset <= chunkMax)
            {
                end = locations[j].Offset + StorageLayout.RecordHeaderSize + StorageLayout.Align8(locations[j].BodyLength);
                j++;
            }

            var length = (int)(end - first.Offset);
            if (buffer.Length < length)
            {
                buffer = new byte[Math.Max(length, Math.Min(chunkMax, buffer.Length * 2L))];
            }

            ReadExactly(ReadHandle(first.Segment), buffer.AsSpan(0, length), first.Offset);
            for (var k = i; k < j; k++)
            {
                var location = locations[k];
                var record = buffer.AsSpan((int)(location.Offset - first.Offset));
                if (!RecordHeader.TryRead(record, salt, out var header) || header.Type != RecordType.Entry || header.Op != location.Op
                    || header.BodyLength != location.BodyLength)
                {
                    throw EntryChanged(location);
                }

                var body = record.Slice(StorageLayout.RecordHeaderSize, header.BodyLength);
                if (XxHash3.HashToUInt64(body, (long)salt) != header.BodyChecksum)
                {
                    throw EntryChanged(location);
                }

                entries[k] = RecordBody.ReadEntry(body) is { } entry && entry.Op == location.Op ? entry : throw EntryChanged(location);
            }

            i = j;
        }

        return entries;
    }

    private StorageException EntryChanged(EntryLocation location) => new(StorageError.Corrupt,
        $"the record of op {location.Op} in segment {location.Segment} at offset {location.Offset} of '{directory}' failed its checksum "
        + "after the directory was opened (the disk changed under it); reopen the directory to have it classified");

    private SafeFileHandle ReadHandle(ulong segment)
    {
        lock (readHandles)
        {
            if (!readHandles.TryGetValue(segment, out var handle))
            {
                handle = File.OpenHandle(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                readHandles[segment] = handle;
            }

            return handle;
        }
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = RandomAccess.Read(handle, buffer[read..], offset + read);
            if (n == 0)
            {
                throw new StorageException(StorageError.Corrupt, "a log segment is shorter than the records it held when it was scanned");
            }

            read += n;
        }
    }

    /// <summary>
    /// One caller's records, encoded (bodies and body checksums) before they are queued; headers are filled in at flush.
    /// Its buffer and record array are rented from the shared pools: the log writer owns the write once it is queued and
    /// hands both back with <see cref="Release"/> after the batch holding it was written (or failed), before it
    /// completes <see cref="Done"/>. Nothing else keeps a reference to them, and the write keeps none to the Ready it
    /// was encoded from, so the caller may reuse that Ready as soon as <see cref="PersistAsync"/> returns.
    /// </summary>
    private sealed class PendingWrite
    {
        private byte[]? buffer;
        private PendingRecord[]? records;

        private PendingWrite(byte[] buffer, int length, PendingRecord[] records, int recordCount, Checkpoint? checkpoint)
        {
            this.buffer = buffer;
            this.records = records;
            Length = length;
            RecordCount = recordCount;
            Checkpoint = checkpoint;
        }

        /// <summary>The encoded records, header space included; valid until <see cref="Release"/>.</summary>
        public Memory<byte> Buffer => (buffer ?? throw new ObjectDisposedException(nameof(PendingWrite))).AsMemory(0, Length);

        /// <summary>The bytes of <see cref="Buffer"/>.</summary>
        public int Length { get; }

        /// <summary>The records in <see cref="Buffer"/>, in order; valid until <see cref="Release"/>.</summary>
        public ReadOnlySpan<PendingRecord> Records => (records ?? throw new ObjectDisposedException(nameof(PendingWrite))).AsSpan(0, RecordCount);

        public int RecordCount { get; }

        public Checkpoint? Checkpoint { get; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Hands the buffer and the record array back to their pools; later calls do nothing.</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref buffer, null) is { } bytes)
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }

            if (Interlocked.Exchange(ref records, null) is { } array)
            {
                ArrayPool<PendingRecord>.Shared.Return(array);
            }
        }

        public static PendingWrite Encode(Ready ready, ulong salt, (ulong From, ulong To)? voidRange = null)
        {
            var records = ArrayPool<PendingRecord>.Shared.Rent(ready.LogChanges.Count + 4);
            var count = 0;
            var length = 0;
            void Add(RecordType type, OpNumber op, int bodyLength, HardState hardState = default, CheckpointReference checkpoint = default)
            {
                records[count++] = new PendingRecord(length, type, op, bodyLength, 0, hardState, checkpoint);
                length += StorageLayout.RecordHeaderSize + StorageLayout.Align8(bodyLength);
            }

            if (voidRange is not null)
            {
                Add(RecordType.Void, OpNumber.Zero, 16);
            }

            foreach (var change in ready.LogChanges)
            {
                switch (change.Kind)
                {
                    case LogChangeKind.Append:
                        Invariant.That(change.Entry is not null, "an append without an entry");
                        Add(RecordType.Entry, change.Entry!.Op, RecordBody.EntrySize(change.Entry));
                        break;
                    case LogChangeKind.TruncateAfter:
                        Add(RecordType.TruncateAfter, change.Op, 0);
                        break;
                    case LogChangeKind.Reset:
                        Add(RecordType.Reset, change.Op, 0);
                        break;
                    default:
                        ArrayPool<PendingRecord>.Shared.Return(records);
                        throw new ArgumentException($"unknown log change kind {change.Kind}", nameof(ready));
                }
            }

            if (ready.HardState is { } hard)
            {
                Add(RecordType.HardState, OpNumber.Zero, RecordBody.HardStateSize, hardState: hard);
            }

            if (ready.Checkpoint is { } checkpoint)
            {
                Invariant.That(checkpoint.State.ComputeChecksum() == checkpoint.Checksum, $"checkpoint at op {checkpoint.Op} does not match its checksum");
                Add(RecordType.Checkpoint, checkpoint.Op, 16, checkpoint: new CheckpointReference(checkpoint.Op, checkpoint.Checksum, (ulong)checkpoint.State.Length));
            }

            if (ready.CompactBefore is { } compactBefore)
            {
                Add(RecordType.Compact, compactBefore, 0);
            }

            // Rented arrays hold old bytes: alignment padding and header space must read as zeros, as in a fresh array.
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            buffer.AsSpan(0, length).Clear();
            var entryIndex = 0;
            for (var i = 0; i < count; i++)
            {
                ref var record = ref records[i];
                var body = buffer.AsSpan(record.Offset + StorageLayout.RecordHeaderSize, record.BodyLength);
                switch (record.Type)
                {
                    case RecordType.Entry:
                        while (ready.LogChanges[entryIndex].Kind != LogChangeKind.Append)
                        {
                            entryIndex++;
                        }

                        RecordBody.WriteEntry(ready.LogChanges[entryIndex++].Entry!, body);
                        break;
                    case RecordType.HardState:
                        RecordBody.WriteHardState(record.HardState, body);
                        break;
                    case RecordType.Checkpoint:
                        RecordBody.WritePair(record.Checkpoint.Checksum, record.Checkpoint.Size, body);
                        break;
                    case RecordType.Void:
                        RecordBody.WritePair(voidRange!.Value.From, voidRange.Value.To, body);
                        break;
                }

                record = record with { BodyChecksum = XxHash3.HashToUInt64(body, (long)salt) };
            }

            return new PendingWrite(buffer, length, records, count, ready.Checkpoint);
        }

        /// <summary>Checks <paramref name="ready"/>'s log changes against the head they will apply to, as <see cref="MemoryStorage"/> does; returns the new head.</summary>
        public static OpNumber Validate(Ready ready, OpNumber head)
        {
            foreach (var change in ready.LogChanges)
            {
                switch (change.Kind)
                {
                    case LogChangeKind.Append:
                        Invariant.That(change.Entry!.Op == head.Next, $"storage append of op {change.Entry.Op} after {head}");
                        head = change.Entry.Op;
                        break;
                    case LogChangeKind.TruncateAfter:
                        head = OpNumber.Min(head, change.Op);
                        break;
                    case LogChangeKind.Reset:
                        head = change.Op;
                        break;
                }
            }

            return head;
        }
    }

    private readonly record struct PendingRecord(int Offset, RecordType Type, OpNumber Op, int BodyLength, ulong BodyChecksum, HardState HardState, CheckpointReference Checkpoint);
}
