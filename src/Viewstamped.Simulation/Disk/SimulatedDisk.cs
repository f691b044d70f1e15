using Viewstamped.Messages;

namespace Viewstamped.Simulation;

/// <summary>
/// A simulated disk holding one replica's durable state, with faults, for the deterministic simulator.
/// It implements the same contract as <see cref="MemoryStorage"/> and the runtime's file storage, with
/// the same on-disk ideas at block granularity: a superblock in four checksummed copies, a write-ahead
/// log of checksummed blocks with sequence and batch numbers, and checkpoint files.
/// <para><b>Fault model.</b> Every random choice comes from the <see cref="Prng"/> given to the constructor.</para>
/// <list type="bullet">
/// <item><b>Write buffer, lost writes.</b> <see cref="Write"/> queues a Ready's log blocks in a volatile write
/// buffer; a sync makes them durable, either at once (<see cref="Sync"/>; <see cref="Persist"/> is write and
/// sync) or over simulated time (<see cref="BeginSync"/> sends the queued Readies to the device as one batch,
/// <see cref="CompleteSync"/> makes that batch durable). <see cref="Crash"/> drops the batch being synced
/// partially: each of its blocks is lost with <see cref="DiskFaults.LostWriteProbability"/>, independently,
/// so a later block may land while an earlier one does not. Like the file storage's group commit, a batch is
/// written only after the previous one is synced, so at most one batch is ever partly on the device; Readies
/// written during a sync wait for the next one and a crash loses them whole.</item>
/// <item><b>Torn writes.</b> An unsynced block that survives a crash is torn (its tail zeroed) with
/// <see cref="DiskFaults.TornWriteProbability"/>. With the same probability a crash during a sync that
/// would update the superblock lets the batch land whole and tears the update: the copies are written
/// one at a time, so some are new, one is torn (its sequence number new, its tail zeroed) and the rest
/// are old. The reader outvotes the torn copy by its checksum. An update tears only while every copy is
/// readable, so tears cannot pile up on earlier damage until no copy is left.</item>
/// <item><b>Bit flips on read.</b> Each block read by <see cref="Load"/> comes back with one bit flipped with
/// <see cref="DiskFaults.ReadFlipProbability"/>; the checksum catches it and the block is read again.</item>
/// <item><b>Misdirected writes.</b> A superblock copy write lands in another copy's slot with
/// <see cref="DiskFaults.MisdirectedSuperblockWriteProbability"/>, at most once per update, so at least two
/// copies stay current and the copy number in each slot unmasks the misplaced one.</item>
/// <item><b>Latent corruption</b> (off by default). A durable log block gets a bit flipped for good, at most
/// <see cref="DiskFaults.LatentCorruptionsMax"/> times. This destroys acknowledged data: <see cref="Load"/>
/// detects and reports it (<see cref="Health"/>), ends the log before it and records durably that the log is
/// damaged (<see cref="HardState.LogDamaged"/>), which the replica repairs from its peers. Any durable block may
/// be hit, the newest batch's too. Before the newest batch's summary is durable in the batch ring (below), its
/// damage after a power loss looks exactly like a torn write (storage.md describes this window): the load cuts
/// it and reports an uncertain tail (<see cref="HardState.TailUncertain"/>), durably, and the replica's view
/// change counts on it for nothing past its head. The checkpoint file the superblock names can rot too (<see cref="InjectCheckpointCorruption"/>): <see cref="Load"/> then returns no
/// checkpoint and no log, as damaged, and the replica fetches a checkpoint from a peer. The simulator's cluster
/// injects both within its budget of at most f damaged disks.</item>
/// <item><b>A newest batch lost whole</b> (<see cref="LoseNewestBatch"/>, off by default: <see cref="DiskFaults.LostNewestBatches"/>;
/// injected by the simulator's cluster at a power loss within the same budget). The device acknowledged the batch's sync but never wrote it (a lost
/// write): after the power loss it is simply not there. If its summary was durable the load finds the log
/// ending short of it (corruption); if not, nothing on the disk shows it, like a log that went idle. So, like
/// the file storage after a reboot without a clean close, a load after a power loss (<see cref="Crash"/>) since
/// the log was last written reports an uncertain tail (<see cref="DurableState.TailUncertain"/>) unless the log
/// was known to end cleanly where it ends (<see cref="Close"/>, or a disk never written). A process crash
/// (<see cref="CrashProcess"/>) keeps the page cache and needs no such doubt.</item>
/// <item><b>Latency</b> (optional). Each sync draws a duration up to <see cref="DiskFaults.SyncLatencyTicksMax"/>
/// ticks (returned by <see cref="BeginSync"/>; <see cref="LastSyncTicks"/> after <see cref="Sync"/>); the
/// simulator's cluster completes the sync that many ticks later and only then sends the Readies' messages.</item>
/// </list>
/// <para><b>Batch ring.</b> As in the file storage, a summary of each batch is written when its sync completes
/// and made durable by <see cref="SyncSummaries"/>, which the simulator's cluster calls when the disk is idle; a
/// crash loses a summary not yet synced. A load treats damage at or below the newest durable summary as
/// corruption, not as a torn write.</para>
/// The budget: with the default faults only writes that were never acknowledged are lost, so every
/// replica restarts with everything it acknowledged and the cluster recovers from any crash pattern.
/// Checkpoint files are written and synced before the log refers to them, and superblock updates
/// happen when a sync completes, so neither is torn by a crash.
/// </summary>
public sealed class SimulatedDisk : IReplicaStorage
{
    private const int Copies = 4;
    private const int ReadAttempts = 4;
    private readonly Prng prng;
    private readonly byte[]?[] superblock = new byte[Copies][];
    private readonly Dictionary<ulong, byte[]> checkpointFiles = [];
    private readonly List<(BlockType Type, OpNumber Op, LogEntry? Entry, HardState Hard, ulong Checksum)> open = [];
    private readonly List<Ready> openReadies = [];
    private readonly List<byte[]> inFlight = [];
    private readonly List<Ready> inFlightReadies = [];
    private List<byte[]?> blocks = [];
    private MemoryStorage shadow = new();
    private DiskSuperblock current;
    private OpNumber logicalHead;
    private ulong nextSeq = 1;
    private ulong nextBatch = 1;
    private bool compacted;
    private bool latentDamage;

    /// <summary>The last record of the newest batch whose summary is durable in the batch ring (0: none).</summary>
    private ulong summarizedSeq;

    /// <summary>The last record of the newest batch whose summary was written after its sync but is not durable yet.</summary>
    private ulong pendingSummarySeq;

    /// <summary>
    /// Durable: the log is known to end cleanly at this record, nothing written after it (a disk never written, at
    /// record 0, or one <see cref="Close"/>d); null from the first batch sent to the device after that. Like the
    /// file storage's clean-close mark, the only thing that vouches for a tail after a power loss dropped the
    /// summary of a batch lost whole.
    /// </summary>
    private ulong? cleanSeq = 0;

    /// <summary>The machine's boot: a power loss starts a new one, a process crash does not (the page cache survives it).</summary>
    private int boot;

    /// <summary>Durable, like the file storage's boot id: the boot in which the first batch after the last load went to the device.</summary>
    private int bootOfLastWrite;

    /// <summary>What every completed sync before the newest one made durable, as the memory storage holds it.</summary>
    private DurableState? beforeNewestBatch;

    /// <summary>Where the newest synced batch starts in <see cref="blocks"/>, while a power loss may still find it lost whole; -1 otherwise.</summary>
    private int newestBatchStart = -1;

    /// <summary>Set by <see cref="LoseNewestBatch"/> until the next load: the disk lost acknowledged data.</summary>
    private bool newestBatchLost;
    private long lostNewestBatches;

    /// <summary>Checkpoint files with a latent bit flip, until they are rewritten or deleted.</summary>
    private readonly HashSet<ulong> corruptCheckpoints = [];
    private int tearSuperblockCopy = -1;
    private long syncs;
    private long crashes;
    private long lostWrites;
    private long tornWrites;
    private long readRetries;
    private long misdirectedWrites;
    private long latentCorruptions;
    private long rottenTailsCut;

    /// <summary>
    /// Set when a load cut a rotten newest batch as torn (<see cref="DiskStatistics.RottenTailsCut"/>), or found the
    /// newest batch lost whole with nothing durable vouching for it: the head of the log the disk had made durable.
    /// The disk lost acknowledged data that only the uncertain tail flag reports, and counts as damaged until it
    /// holds every op up to here again, in its log or a checkpoint (installing a peer's log clears the flag sooner,
    /// while what precedes that log may still be on its way by state transfer).
    /// </summary>
    private OpNumber? rottenTailHead;
    private long compactions;

    /// <summary>Creates an empty disk whose faults come from <paramref name="prng"/>.</summary>
    public SimulatedDisk(Prng prng, DiskFaults? faults = null)
    {
        ArgumentNullException.ThrowIfNull(prng);
        this.prng = prng;
        Faults = faults ?? new DiskFaults();
        current = new DiskSuperblock(1, default, 0, 1, 1, null, 0);
        for (var copy = 0; copy < Copies; copy++)
        {
            superblock[copy] = DiskBlock.EncodeSuperblock(current, copy);
        }
    }

    /// <summary>The faults in force; may be changed between calls.</summary>
    public DiskFaults Faults { get; set; }

    /// <summary>A planted storage bug, for proving that the simulator's checkers catch it; none in any real use.</summary>
    internal DiskBug Bug { get; set; }

    /// <summary>What the last <see cref="Load"/> found wrong.</summary>
    public DiskHealth Health { get; private set; } = new();

    /// <summary>How many ticks the last sync took (0 unless <see cref="DiskFaults.SyncLatencyTicksMax"/> is set).</summary>
    public int LastSyncTicks { get; private set; }

    /// <summary>True when writes are buffered and not yet durable.</summary>
    public bool HasUnsyncedWrites => open.Count > 0 || openReadies.Count > 0 || SyncInProgress;

    /// <summary>True between <see cref="BeginSync"/> and <see cref="CompleteSync"/>.</summary>
    public bool SyncInProgress { get; private set; }

    /// <summary>
    /// True when a batch summary was written after a sync and is not durable yet: the disk's log has not
    /// been idle since. <see cref="SyncSummaries"/> makes it durable.
    /// </summary>
    public bool HasUnsyncedSummary => pendingSummarySeq > summarizedSeq;

    /// <summary>The number of durable log blocks (after compaction rewrites).</summary>
    public int BlockCount => blocks.Count;

    /// <summary>What the disk did so far.</summary>
    public DiskStatistics Statistics => new()
    {
        Syncs = syncs,
        Crashes = crashes,
        LostWrites = lostWrites,
        TornWrites = tornWrites,
        ReadRetries = readRetries,
        MisdirectedWrites = misdirectedWrites,
        LatentCorruptions = latentCorruptions,
        Compactions = compactions,
        RottenTailsCut = rottenTailsCut,
        LostNewestBatches = lostNewestBatches,
    };

    /// <summary>Writes <paramref name="ready"/> and syncs: durable on return.</summary>
    public void Persist(Ready ready)
    {
        Write(ready);
        Sync();
    }

    /// <summary>
    /// Queues <paramref name="ready"/>'s log changes, hard state and checkpoint reference for the next batch
    /// (a checkpoint file itself is written and synced first). Not durable until a sync covers it; a
    /// <see cref="Crash"/> before that loses or tears part of it. Readies written between two syncs form one
    /// batch (group commit). The disk copies what it needs: it keeps no reference to
    /// <paramref name="ready"/>, so the caller may reuse the object as soon as this returns.
    /// </summary>
    public void Write(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        var head = logicalHead;
        foreach (var change in ready.LogChanges)
        {
            switch (change.Kind)
            {
                case LogChangeKind.Append:
                    Invariant.That(change.Entry is not null && change.Entry.Op == head.Next, $"storage append of op {change.Entry?.Op} after {head}");
                    head = change.Entry!.Op;
                    break;
                case LogChangeKind.TruncateAfter:
                    head = OpNumber.Min(head, change.Op);
                    break;
                case LogChangeKind.Reset:
                    head = change.Op;
                    break;
            }
        }

        if (ready.Checkpoint is { } checkpoint)
        {
            Invariant.That(checkpoint.State.ComputeChecksum() == checkpoint.Checksum, $"checkpoint at op {checkpoint.Op} does not match its checksum");
            checkpointFiles[checkpoint.Op.Value] = DiskBlock.EncodeCheckpoint(checkpoint);
            corruptCheckpoints.Remove(checkpoint.Op.Value);
        }

        logicalHead = head;
        var copy = new Ready { HardState = ready.HardState, Checkpoint = ready.Checkpoint, CompactBefore = ready.CompactBefore };
        foreach (var change in ready.LogChanges)
        {
            copy.LogChanges.Add(change);
            open.Add(change.Kind switch
            {
                LogChangeKind.Append => (BlockType.Entry, change.Entry!.Op, change.Entry, default, 0),
                LogChangeKind.TruncateAfter => (BlockType.TruncateAfter, change.Op, null, default, 0),
                _ => (BlockType.Reset, change.Op, null, default, 0),
            });
        }

        if (ready.HardState is { } hard)
        {
            open.Add((BlockType.HardState, OpNumber.Zero, null, hard, 0));
        }

        if (ready.Checkpoint is { } reference)
        {
            open.Add((BlockType.Checkpoint, reference.Op, null, default, reference.Checksum));
        }

        if (ready.CompactBefore is { } compactBefore)
        {
            open.Add((BlockType.Compact, compactBefore, null, default, 0));
        }

        openReadies.Add(copy);
    }

    /// <summary>
    /// Makes every written Ready durable at once: completes a sync in progress, then writes and syncs the
    /// Readies queued since. Then updates the superblock when the views or the checkpoint changed, and
    /// rewrites the log without compacted entries when it has grown. <see cref="LastSyncTicks"/> is drawn.
    /// </summary>
    public void Sync()
    {
        if (SyncInProgress)
        {
            CompleteSync();
        }

        LastSyncTicks = BeginSync();
        CompleteSync();
    }

    /// <summary>
    /// Starts a sync, as the file storage's group-commit writer does: the Readies written since the last
    /// sync go to the device as one batch, and the call returns how many ticks the sync takes (0 to
    /// <see cref="DiskFaults.SyncLatencyTicksMax"/>). Until <see cref="CompleteSync"/> the batch is not
    /// durable (a crash lands part of it), and Readies written meanwhile wait for the next sync (a crash
    /// loses them whole). A caller must not send the messages of a Ready before the sync that covers it completes.
    /// </summary>
    public int BeginSync()
    {
        Invariant.That(!SyncInProgress, "one sync at a time: batch n+1 is written only after batch n is durable");
        for (var i = 0; i < open.Count; i++)
        {
            var r = open[i];
            inFlight.Add(DiskBlock.Encode(r.Type, i == open.Count - 1, nextSeq++, nextBatch, r.Op, r.Entry, r.Hard, r.Checksum));
        }

        if (open.Count > 0)
        {
            // Records go to the device: from now on the log is not known to end anywhere.
            nextBatch++;
            cleanSeq = null;
            bootOfLastWrite = boot;
        }

        inFlightReadies.AddRange(openReadies);
        open.Clear();
        openReadies.Clear();
        SyncInProgress = true;
        return Faults.SyncLatencyTicksMax > 0 ? prng.Between(0, Faults.SyncLatencyTicksMax) : 0;
    }

    /// <summary>Completes the sync <see cref="BeginSync"/> started: its batch is durable, and the superblock and log maintenance follow.</summary>
    public void CompleteSync()
    {
        Invariant.That(SyncInProgress, "complete a sync that was begun");
        SyncInProgress = false;
        syncs++;
        if (inFlight.Count > 0)
        {
            // The batch is durable: only now may the ring say so (volatile until the ring is synced).
            pendingSummarySeq = nextSeq - 1;
            newestBatchStart = blocks.Count;
            beforeNewestBatch = shadow.Load();
        }

        blocks.AddRange(inFlight);
        inFlight.Clear();
        foreach (var ready in inFlightReadies)
        {
            shadow.Persist(ready);
            compacted |= ready.CompactBefore is not null;
        }

        inFlightReadies.Clear();
        UpdateSuperblock();
        if (tearSuperblockCopy >= 0)
        {
            return;
        }

        if (compacted && blocks.Count > 2 * shadow.EntryCount + 64)
        {
            Rewrite();
        }
    }

    /// <summary>
    /// The log every completed sync made durable (what the replica may have acknowledged), as the memory
    /// storage holds it: what a <see cref="Load"/> must read back unless it reports damage. For the
    /// simulator's checker, which holds the disk to that; call it after a crash, before loading.
    /// </summary>
    public DurableState SyncedLog() => shadow.Load();

    /// <summary>
    /// The log <see cref="SyncedLog"/> held before the newest batch's sync completed: what a load that cut that
    /// whole batch (rotten or lost before its summary was durable) returns. For the simulator's checker, before loading.
    /// </summary>
    public DurableState SyncedLogBeforeNewestBatch() => beforeNewestBatch ?? shadow.Load();

    /// <summary>
    /// Syncs the batch ring, as the file storage does once its log has been idle for a moment: the
    /// summary written after the last sync becomes durable, and from then on damage to that batch reads
    /// as corruption, not as a torn write. Call only when no sync is in progress and nothing waits for one.
    /// </summary>
    public void SyncSummaries()
    {
        Invariant.That(!HasUnsyncedWrites, "the batch ring is synced when the log is idle");
        summarizedSeq = Math.Max(summarizedSeq, pendingSummarySeq);
    }

    /// <summary>
    /// A graceful stop, as the file storage's close: what was written is synced, then the batch ring, and the disk
    /// records that its log ends cleanly at its last record, so the next load need not doubt its tail. Stop the
    /// replica first; <see cref="Load"/> restarts it.
    /// </summary>
    public void Close()
    {
        if (SyncInProgress)
        {
            CompleteSync();
        }

        if (HasUnsyncedWrites)
        {
            Sync();
        }

        SyncSummaries();
        cleanSeq = nextSeq - 1;
    }

    /// <summary>
    /// The replica's process dies while its machine runs on: the page cache keeps everything the process wrote,
    /// so the batch being synced lands whole (its sync's messages never leave) and the summaries written vouch
    /// for their batches as if synced. Readies written during a sync were still in the process and are lost.
    /// <see cref="Load"/> then needs to doubt no tail: within the boot, the summaries vouch for every batch whose
    /// sync completed.
    /// </summary>
    public void CrashProcess()
    {
        crashes++;

        // The summaries written so far stay in the page cache, which the next process reads, and the kernel writes back.
        summarizedSeq = Math.Max(summarizedSeq, pendingSummarySeq);
        if (SyncInProgress)
        {
            CompleteSync();
        }

        open.Clear();
        openReadies.Clear();
    }

    /// <summary>
    /// A lost write, seen at a power loss: the newest synced batch never reached the media, though its sync
    /// completed (and its Readies' messages may have left). Call just before <see cref="Crash"/>. Returns false
    /// when no such batch is on the disk (none synced since the last load, or a compaction rewrote the log since).
    /// </summary>
    public bool LoseNewestBatch()
    {
        if (newestBatchStart < 0)
        {
            return false;
        }

        blocks.RemoveRange(newestBatchStart, blocks.Count - newestBatchStart);
        newestBatchStart = -1;
        newestBatchLost = true;
        lostNewestBatches++;
        return true;
    }

    /// <summary>
    /// Power failure: the batch being synced lands partially (lost and torn writes, see the fault model);
    /// with no sync in progress the written but unsynced Readies are that batch (the kernel may have begun
    /// writing them back). Readies written during a sync were never sent to the device and are lost whole.
    /// Durable data stays.
    /// </summary>
    public void Crash()
    {
        crashes++;
        boot++;
        if (SyncInProgress && prng.Chance(Faults.TornWriteProbability) && EverySuperblockCopyReadable())
        {
            // The batch reached the disk and the power failed while the superblock copies were
            // written, one at a time: some are new, one is torn, the rest are old.
            // What waited for the next sync never reached the device.
            tearSuperblockCopy = (int)prng.Below(Copies);
            CompleteSync();
            tearSuperblockCopy = -1;
            open.Clear();
            openReadies.Clear();
        }

        if (!SyncInProgress)
        {
            BeginSync();
        }

        SyncInProgress = false;
        open.Clear();
        openReadies.Clear();
        var landed = new List<byte[]?>();
        foreach (var block in inFlight)
        {
            if (prng.Chance(Faults.LostWriteProbability))
            {
                lostWrites++;
                landed.Add(null);
            }
            else if (prng.Chance(Faults.TornWriteProbability))
            {
                tornWrites++;
                var torn = (byte[])block.Clone();
                var from = prng.Between(8, torn.Length - 1);
                Array.Clear(torn, from, torn.Length - from);
                landed.Add(torn);
            }
            else
            {
                landed.Add(block);
            }
        }

        while (landed.Count > 0 && landed[^1] is null)
        {
            landed.RemoveAt(landed.Count - 1);
        }

        if (landed.Count == inFlight.Count && landed.TrueForAll(block => DiskBlock.Decode(block) is { BodyLost: false }))
        {
            // Every block of the batch landed intact: it is on the disk as if its sync had completed.
            foreach (var ready in inFlightReadies)
            {
                shadow.Persist(ready);
            }
        }

        blocks.AddRange(landed);
        inFlight.Clear();
        inFlightReadies.Clear();

        // A summary not yet synced is lost: the worst case, since it vouched for a batch that may have been acknowledged.
        pendingSummarySeq = summarizedSeq;
    }

    /// <summary>
    /// True while the disk holds acknowledged data the replica cannot read back intact: a latent
    /// corruption not yet found (a compaction rewrite heals it), or a log cut by one that the replica
    /// has not repaired from a peer yet (its durable hard state still says <see cref="HardState.LogDamaged"/>), or a
    /// rotten newest batch cut as torn, until the disk holds every op it had made durable again.
    /// The simulator keeps at most f disks damaged at a time, so an intact copy of every committed op exists.
    /// </summary>
    public bool IsDamaged => latentDamage || newestBatchLost || corruptCheckpoints.Count > 0 || shadow.HardState.LogDamaged
        || (rottenTailHead is { } head && !HoldsThrough(head));

    /// <summary>True when the synced state holds every op up to <paramref name="op"/>: a checkpoint at or past it, or one the log continues from to it.</summary>
    private bool HoldsThrough(OpNumber op)
    {
        var state = shadow.Load();
        var checkpointOp = state.Checkpoint?.Op ?? OpNumber.Zero;
        var first = state.Entries.Count > 0 ? state.Entries[0].Op : state.LogHead.Next;
        return checkpointOp >= op || (first <= checkpointOp.Next && state.LogHead >= op);
    }

    /// <summary>
    /// Flips one bit of a random durable log block for good (a latent sector error); returns the block's
    /// index, or -1 when there is no candidate. Every durable block is a candidate; with
    /// <paramref name="newestBatch"/>, only those of the newest batch. The newest batch before its summary
    /// is durable in the batch ring (<see cref="SyncSummaries"/>) is hit too: if power fails before the
    /// summary is synced, its damage reads like a write torn by the power cut, the window storage.md
    /// describes, and the load reports an uncertain tail (<see cref="DurableState.TailUncertain"/>). The
    /// choice comes from <paramref name="random"/> when given, else from the disk's own stream.
    /// </summary>
    public int InjectLatentCorruption(Prng? random = null, bool newestBatch = false)
    {
        random ??= prng;
        var last = blocks.Count > 0 && blocks[^1] is { } block ? DiskBlock.Decode(block) : null;
        var lastBatch = last?.Batch;
        var candidates = Enumerable.Range(0, blocks.Count)
            .Where(i => blocks[i] is { } b && DiskBlock.Decode(b) is { } record && (!newestBatch || record.Batch == lastBatch))
            .ToList();
        if (candidates.Count == 0)
        {
            return -1;
        }

        var index = candidates[(int)random.Below((ulong)candidates.Count)];
        blocks[index] = WithBitFlipped(blocks[index]!, random);
        latentCorruptions++;
        latentDamage = true;
        return index;
    }

    /// <summary>
    /// Flips one bit of the checkpoint file the superblock names, for good (a latent sector error in a
    /// checkpoint); returns false when there is none. The choice comes from <paramref name="random"/>
    /// when given, else from the disk's own stream.
    /// </summary>
    public bool InjectCheckpointCorruption(Prng? random = null)
    {
        random ??= prng;
        if (current.CheckpointOp is not { } op || !checkpointFiles.TryGetValue(op.Value, out var file))
        {
            return false;
        }

        checkpointFiles[op.Value] = WithBitFlipped(file, random);
        corruptCheckpoints.Add(op.Value);
        latentCorruptions++;
        return true;
    }

    /// <summary>
    /// Reads everything back as a restarting replica would: the superblock (outvoting bad copies), the
    /// checkpoint and the log, verifying every checksum. A torn last batch is cut; damage with intact
    /// records after it (or before what the superblock covers) is corruption: the log is cut before it,
    /// the rest set aside, and <see cref="Health"/> says what was lost. Unsynced writes are dropped first
    /// (the caller is restarting a crashed replica). Throws <see cref="InvalidDataException"/> when no
    /// superblock copy or no referenced checkpoint can be read.
    /// </summary>
    public DurableState Load()
    {
        if (HasUnsyncedWrites)
        {
            Crash();
        }

        var problems = new List<string>();
        var (sb, validCopies) = ReadSuperblock(problems);

        // Every record up to the newest durable batch summary had been made durable; the planted bug forgets the ring.
        var covered = Bug == DiskBug.TrustTornNewestBatch ? sb.WalSeq : Math.Max(sb.WalSeq, summarizedSeq);
        var records = new DiskRecord?[blocks.Count];
        var verify = Bug != DiskBug.SkipLogChecksum;
        for (var i = 0; i < blocks.Count; i++)
        {
            // A payload that fails its checksum may be a transient flip: re-read it like a bad header.
            records[i] = Read(blocks[i], block => DiskBlock.Decode(block, verify) is { BodyLost: false } record ? record : null)
                ?? DiskBlock.Decode(blocks[i], verify);
        }

        // Find the first damaged block: unreadable, out of sequence, or out of batch order.
        var damaged = -1;
        var lastBatchEnd = -1;
        for (var i = 0; i < records.Length; i++)
        {
            var record = records[i];
            var previousBatch = i == 0 ? sb.FirstBatch - 1 : records[i - 1]!.Batch;
            var previousEnded = i == 0 || records[i - 1]!.BatchEnd;
            if (record is null || record.BodyLost || record.Seq != sb.FirstSeq + (ulong)i || record.Batch != (previousEnded ? previousBatch + 1 : previousBatch))
            {
                damaged = i;
                break;
            }

            if (record.BatchEnd)
            {
                lastBatchEnd = i;
            }
        }

        var keep = records.Length;
        var corrupt = false;
        var tornRecords = 0;
        var afterCorruption = new List<OpNumber>();
        if (damaged < 0 && lastBatchEnd < records.Length - 1)
        {
            damaged = lastBatchEnd + 1;
        }

        if (damaged >= 0)
        {
            var before = damaged == 0 ? null : records[damaged - 1];
            var startBatch = before is null ? sb.FirstBatch : before.BatchEnd ? before.Batch + 1 : before.Batch;
            var laterBatch = records.Skip(damaged).Any(r => r is not null && r.Batch > startBatch);
            var cutSeq = sb.FirstSeq + (ulong)(lastBatchEnd + 1) - 1;
            if (!laterBatch && cutSeq >= covered)
            {
                keep = lastBatchEnd + 1;
                tornRecords = records.Length - keep;
                problems.Add($"torn write cut: {tornRecords} unacknowledged block(s) of the last batch dropped");
            }
            else
            {
                corrupt = true;
                keep = damaged;
                afterCorruption.AddRange(records.Skip(damaged + 1).Where(r => r?.Type == BlockType.Entry).Select(r => r!.Op));
                problems.Add($"corruption: log block {damaged} (record {sb.FirstSeq + (ulong)damaged}) is damaged with acknowledged data around it; the log is cut before it");
            }
        }

        blocks = blocks.Take(keep).ToList();

        // After a power loss what is on the media has been read: a lost write would show now or never.
        var rebooted = boot != bootOfLastWrite;
        if (rebooted || newestBatchStart >= keep)
        {
            newestBatchStart = -1;
        }

        if (tornRecords > 0 && latentDamage)
        {
            rottenTailsCut++;
            rottenTailHead = shadow.Load().LogHead;
        }
        else if (rottenTailHead is { } head && HoldsThrough(head))
        {
            rottenTailHead = null;
        }

        latentDamage = false;
        if (corrupt && keep > 0 && records[keep - 1] is { BatchEnd: false } open)
        {
            // The cut leaves a batch without its end; close it so the next batch follows it cleanly.
            records[keep - 1] = open with { BatchEnd = true };
            blocks[keep - 1] = DiskBlock.Encode(open.Type, true, open.Seq, open.Batch, open.Op, open.Entry, open.HardState, open.Checksum);
        }

        var lastSeq = sb.FirstSeq + (ulong)keep - 1;
        var placed = corrupt && Placed(records, damaged, sb.FirstSeq) && sb.FirstSeq + (ulong)records.Length - 1 >= covered;
        if (!corrupt && lastSeq < covered)
        {
            corrupt = true;
            problems.Add($"corruption: the log ends at record {lastSeq}, before record {covered} the superblock or the batch ring covers");
        }

        if (newestBatchLost && !corrupt)
        {
            // Lost whole with nothing durable vouching for it: only the uncertain tail below reports it.
            rottenTailHead = shadow.Load().LogHead;
        }

        newestBatchLost = false;

        // After a power loss, unless the log was known to end right here, a batch lost whole may have followed
        // (only a disk that can lose one needs to say so; see DiskFaults.LostNewestBatches).
        var mayHaveLostNewestBatch = Faults.LostNewestBatches && rebooted && !corrupt && cleanSeq != lastSeq;

        // Replay what is kept, exactly as the memory storage would have applied it. A checkpoint that
        // fails its checksum is never handed out: the replica restarts without it, as damaged.
        var checkpointsLost = new List<OpNumber>();
        var checkpoint = sb.CheckpointOp is { } checkpointOp ? ReadCheckpoint(checkpointOp, sb.CheckpointChecksum, checkpointsLost) : null;
        var memory = new MemoryStorage();
        var start = new Ready { HardState = sb.HardState, Checkpoint = checkpoint };
        memory.Persist(start);
        for (var i = 0; i < keep; i++)
        {
            memory.Persist(ToReady(records[i]!, sb.WalSeq, checkpointsLost));
        }

        if (checkpointsLost.Count > 0)
        {
            // Nothing here rebuilds the state: no checkpoint and no log (the core resets to nothing when
            // damaged anyway), the damage recorded durably below like a cut log's.
            corrupt = true;
            var views = memory.HardState;
            memory = new MemoryStorage();
            memory.Persist(new Ready { HardState = views });
            problems.Add($"corruption: checkpoint {string.Join(", ", checkpointsLost)} failed its checksum; restarting without a checkpoint or a log");
        }

        // With every record after the damage placed, replay them too, keeping a gap for each lost entry:
        // the log they leave is exactly the one the disk had made durable, and the replica repairs the gaps.
        // Not when the log was already flagged damaged before this load: an earlier cut (of an earlier
        // repair's suffix, say) may have taken entries the replica acknowledged, and repairing only the
        // new damage would clear the flag without them, so the replica takes the safe path instead.
        var suffix = placed && checkpointsLost.Count == 0 && !memory.HardState.LogDamaged ? PlaceSuffix(records, keep, memory, sb.WalSeq) : null;

        current = sb;
        nextSeq = lastSeq + 1;

        // Sequence numbers after the cut are used again: the ring's summaries beyond it are overwritten.
        summarizedSeq = Math.Min(summarizedSeq, lastSeq);
        pendingSummarySeq = summarizedSeq;
        nextBatch = keep == 0 ? sb.FirstBatch : records[keep - 1]!.Batch + 1;
        shadow = memory;
        logicalHead = memory.Load().LogHead;
        if (corrupt)
        {
            // The cut is final: the superblock now covers only what is kept, and a checkpoint beyond the
            // cut restarts the log at it. It also records that the log is damaged, so a crash before
            // the replica's repair cannot make the next load look clean (the replica clears the flag).
            MakeCutFinal(memory.HardState with { LogDamaged = true }, lastSeq);
            if (checkpointsLost.Count > 0)
            {
                // The log restarts empty, before anything the lost checkpoint covered.
                Persist(new Ready { LogChanges = { new LogChange(LogChangeKind.Reset, OpNumber.Zero, null) } });
            }
            else if (suffix is { Reset: true } restarted)
            {
                // Records after the damage restarted the log (a reset, or a checkpoint past its head).
                Persist(new Ready { LogChanges = { new LogChange(LogChangeKind.Reset, restarted.Head, null) } });
            }
            else if (memory.Checkpoint is { } kept && logicalHead < kept.Op)
            {
                Persist(new Ready { LogChanges = { new LogChange(LogChangeKind.Reset, kept.Op, null) } });
                suffix = null;
            }
            else if (suffix is { } cut && cut.Head < logicalHead)
            {
                // Records after the damage cut the log shorter: so is the log the replica gets back.
                Persist(new Ready { LogChanges = { new LogChange(LogChangeKind.TruncateAfter, cut.Head, null) } });
            }
        }

        else if ((tornRecords > 0 || mayHaveLostNewestBatch) && !memory.HardState.TailUncertain)
        {
            // The torn cut is final too, and it erases the only sign of the tail: record durably that the
            // tail was uncertain (it may have been the newest batch, acknowledged and rotted before its
            // summary was durable, or lost whole), until the replica installs a peer's log and persists a
            // hard state without it. The next batch ends the clean mark, the sign of a lost batch.
            MakeCutFinal(memory.HardState with { TailUncertain = true }, lastSeq);
        }

        Health = new DiskHealth
        {
            SuperblockCopiesValid = validCopies,
            LogCorrupt = corrupt,
            CorruptAtSeq = corrupt && checkpointsLost.Count == 0 ? lastSeq + 1 : null,
            CorruptCheckpoints = checkpointsLost,
            EntriesAfterCorruption = afterCorruption,
            TornRecords = tornRecords,
            Problems = problems,
        };
        return shadow.Load() with
        {
            LogDamaged = corrupt || shadow.HardState.LogDamaged,
            TailUncertain = shadow.HardState.TailUncertain,
            DamagedSuffix = suffix?.Entries ?? [],
        };
    }

    /// <summary>True when every record from <paramref name="damaged"/> on has an intact header, in sequence, and only entry payloads are lost.</summary>
    private static bool Placed(DiskRecord?[] records, int damaged, ulong firstSeq)
    {
        for (var i = damaged; i < records.Length; i++)
        {
            if (records[i] is not { } record || record.Seq != firstSeq + (ulong)i || (record.BodyLost && record.Type != BlockType.Entry))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Replays the records from <paramref name="from"/> on over <paramref name="memory"/> (which holds the
    /// records before them): hard states and checkpoints into it, log changes into a suffix after the head
    /// they leave untouched, with null for each lost entry. <c>Reset</c> says the log must restart empty at
    /// that head (a reset record, or a checkpoint past the head that covers the start of the suffix). Null
    /// when the records do what a suffix cannot express (an entry out of place, a compaction into it).
    /// </summary>
    private (OpNumber Head, LogEntry?[] Entries, bool Reset)? PlaceSuffix(DiskRecord?[] records, int from, MemoryStorage memory, ulong walSeq)
    {
        var head = memory.Load().LogHead;
        var reset = false;
        var suffix = new List<LogEntry?>();
        var metadata = new List<Ready>();
        var checkpointOp = memory.Checkpoint?.Op ?? OpNumber.Zero;
        for (var i = from; i < records.Length; i++)
        {
            var record = records[i]!;
            switch (record.Type)
            {
                case BlockType.Entry when record.Op.Value == head.Value + (ulong)suffix.Count + 1:
                    suffix.Add(record.BodyLost ? null : record.Entry);
                    break;
                case BlockType.TruncateAfter when record.Op < head:
                    head = record.Op;
                    suffix.Clear();
                    break;
                case BlockType.TruncateAfter:
                    var keep = (int)Math.Min(record.Op - head, (ulong)suffix.Count);
                    suffix.RemoveRange(keep, suffix.Count - keep);
                    break;
                case BlockType.Reset:
                    head = record.Op;
                    suffix.Clear();
                    reset = true;
                    break;
                case BlockType.HardState when record.Seq > walSeq:
                    metadata.Add(new Ready { HardState = record.HardState });
                    break;
                case BlockType.Checkpoint when record.Seq > walSeq:
                    if (ReadCheckpoint(record.Op, record.Checksum, []) is not { } placedCheckpoint)
                    {
                        return null;
                    }

                    metadata.Add(new Ready { Checkpoint = placedCheckpoint });
                    checkpointOp = record.Op;
                    break;
                case BlockType.Compact when record.Op <= head.Next:
                    metadata.Add(new Ready { CompactBefore = record.Op });
                    break;
                case BlockType.Compact when record.Op <= checkpointOp.Next:
                    // Into the suffix, but only below a checkpoint the log is restarted at (below).
                    break;
                case BlockType.HardState or BlockType.Checkpoint:
                    break;
                default:
                    return null;
            }
        }

        if (checkpointOp > head)
        {
            // The checkpoint covers the start of the suffix: the log restarts at it.
            if (checkpointOp.Value > head.Value + (ulong)suffix.Count)
            {
                return null;
            }

            suffix.RemoveRange(0, (int)(checkpointOp - head));
            head = checkpointOp;
            reset = true;
        }

        foreach (var ready in metadata)
        {
            memory.Persist(ready);
        }

        return (head, suffix.ToArray(), reset);
    }

    private Ready ToReady(DiskRecord record, ulong walSeq, List<OpNumber> checkpointsLost)
    {
        var ready = new Ready();
        switch (record.Type)
        {
            case BlockType.Entry:
                ready.LogChanges.Add(new LogChange(LogChangeKind.Append, record.Op, record.Entry));
                break;
            case BlockType.TruncateAfter:
                ready.LogChanges.Add(new LogChange(LogChangeKind.TruncateAfter, record.Op, null));
                break;
            case BlockType.Reset:
                ready.LogChanges.Add(new LogChange(LogChangeKind.Reset, record.Op, null));
                break;
            case BlockType.HardState when record.Seq > walSeq:
                ready.HardState = record.HardState;
                break;
            case BlockType.Checkpoint when record.Seq > walSeq:
                ready.Checkpoint = ReadCheckpoint(record.Op, record.Checksum, checkpointsLost);
                break;
            case BlockType.Compact:
                ready.CompactBefore = record.Op;
                break;
        }

        return ready;
    }

    private (DiskSuperblock State, int ValidCopies) ReadSuperblock(List<string> problems)
    {
        var valid = new List<DiskSuperblock>();
        for (var copy = 0; copy < Copies; copy++)
        {
            var slot = copy;
            var state = Read(superblock[copy], block => DiskBlock.DecodeSuperblock(block, slot, verify: Bug != DiskBug.TrustTornSuperblock));
            if (state is null)
            {
                problems.Add($"superblock copy {copy} is unreadable or misplaced");
            }
            else
            {
                valid.Add(state);
            }
        }

        if (valid.Count == 0)
        {
            throw new InvalidDataException("every superblock copy of the simulated disk is unreadable");
        }

        // The planted bug trusts the copy written last among those with the highest sequence, unchecked.
        var best = Bug == DiskBug.TrustTornSuperblock ? valid.Last(s => s.Sequence == valid.Max(v => v.Sequence)) : valid.MaxBy(s => s.Sequence)!;
        var upToDate = valid.Count(s => s == best);
        if (upToDate < Copies)
        {
            problems.Add($"{Copies - upToDate} superblock copies are stale or damaged; outvoted by sequence {best.Sequence}");
        }

        return (best, upToDate);
    }

    /// <summary>The checkpoint at <paramref name="op"/>, verified; null, and the op added to <paramref name="lost"/>, when it fails its checksum.</summary>
    private Checkpoint? ReadCheckpoint(OpNumber op, ulong checksum, List<OpNumber> lost)
    {
        var file = checkpointFiles.GetValueOrDefault(op.Value)
            ?? throw new InvalidDataException($"the checkpoint at op {op} on the simulated disk is missing");
        var checkpoint = Read(file, bytes => DiskBlock.DecodeCheckpoint(bytes, op, checksum, verify: Bug != DiskBug.SkipCheckpointChecksum));
        if (checkpoint is null)
        {
            lost.Add(op);
        }

        return checkpoint;
    }

    /// <summary>A copy of <paramref name="stored"/> with one bit, drawn from <paramref name="random"/>, flipped.</summary>
    private static byte[] WithBitFlipped(byte[] stored, Prng random)
    {
        var copy = (byte[])stored.Clone();
        var bit = random.Below((ulong)copy.Length * 8);
        copy[bit / 8] ^= (byte)(1 << (int)(bit % 8));
        return copy;
    }

    /// <summary>Reads and decodes <paramref name="stored"/>, possibly with a transient bit flip, re-reading while the checksum fails.</summary>
    private T? Read<T>(byte[]? stored, Func<byte[]?, T?> decode)
        where T : class
    {
        for (var attempt = 0; ; attempt++)
        {
            var copy = stored;
            if (stored is { Length: > 0 } && prng.Chance(Faults.ReadFlipProbability))
            {
                copy = WithBitFlipped(stored, prng);
            }

            var decoded = decode(copy);
            if (decoded is not null || attempt == ReadAttempts - 1 || ReferenceEquals(copy, stored))
            {
                return decoded;
            }

            readRetries++;
        }
    }

    private void UpdateSuperblock()
    {
        var hard = shadow.HardState;
        var checkpoint = shadow.Checkpoint;
        if (hard.View == current.HardState.View && hard.LogView == current.HardState.LogView && hard.LogDamaged == current.HardState.LogDamaged
            && hard.TailUncertain == current.HardState.TailUncertain && checkpoint?.Op == current.CheckpointOp && (checkpoint?.Checksum ?? 0) == current.CheckpointChecksum)
        {
            return;
        }

        var previousCheckpoint = current.CheckpointOp;
        WriteSuperblock(current with
        {
            Sequence = current.Sequence + 1,
            HardState = hard,
            WalSeq = nextSeq - 1,
            CheckpointOp = checkpoint?.Op,
            CheckpointChecksum = checkpoint?.Checksum ?? 0,
        });

        // Keep the current and the previous checkpoint files, as the file storage does, any later one (it
        // was written for a Ready that waits for the next sync), and any a superblock copy on the disk
        // still names: after torn writes an older copy can outvote the newer ones at the next load.
        var named = SuperblockCheckpoints();
        foreach (var op in checkpointFiles.Keys.ToList())
        {
            if (op != checkpoint?.Op.Value && op != previousCheckpoint?.Value && op < (checkpoint?.Op.Value ?? 0) && !named.Contains(op))
            {
                checkpointFiles.Remove(op);
                corruptCheckpoints.Remove(op);
            }
        }
    }

    /// <summary>The checkpoints named by the superblock copies that would decode at a load, read as stored (no read faults drawn).</summary>
    private HashSet<ulong> SuperblockCheckpoints()
    {
        var named = new HashSet<ulong>();
        for (var copy = 0; copy < Copies; copy++)
        {
            if (DiskBlock.DecodeSuperblock(superblock[copy], copy)?.CheckpointOp is { } op)
            {
                named.Add(op.Value);
            }
        }

        return named;
    }

    /// <summary>
    /// True when every superblock copy decodes in its own slot. A torn update is drawn only then: one
    /// tears a copy and a misdirected write spoils another, so tears on top of earlier damage, before a
    /// whole update rewrote every copy, could leave no readable copy at all, beyond the fault budget.
    /// </summary>
    private bool EverySuperblockCopyReadable()
    {
        for (var copy = 0; copy < Copies; copy++)
        {
            if (DiskBlock.DecodeSuperblock(superblock[copy], copy) is null)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Records a load's cut for good under <paramref name="flagged"/> (the hard state that says why the log
    /// is shorter): the superblock now covers every kept record up to <paramref name="lastSeq"/>, so it must
    /// also name the checkpoint they left current.
    /// </summary>
    private void MakeCutFinal(HardState flagged, ulong lastSeq)
    {
        shadow.Persist(new Ready { HardState = flagged });
        WriteSuperblock(current with
        {
            Sequence = current.Sequence + 1,
            HardState = flagged,
            WalSeq = lastSeq,
            CheckpointOp = shadow.Checkpoint?.Op,
            CheckpointChecksum = shadow.Checkpoint?.Checksum ?? 0,
        });
    }

    private void WriteSuperblock(DiskSuperblock state)
    {
        var misdirected = false;
        for (var copy = 0; copy < Copies; copy++)
        {
            if (copy == tearSuperblockCopy)
            {
                // Power fails in the middle of this copy: its first bytes (the sequence number among them) are new, the rest never landed.
                var torn = DiskBlock.EncodeSuperblock(state, copy);
                var from = prng.Between(24, DiskBlock.SuperblockSize - 1);
                Array.Clear(torn, from, torn.Length - from);
                superblock[copy] = torn;
                tornWrites++;
                return;
            }

            var target = copy;
            if (!misdirected && prng.Chance(Faults.MisdirectedSuperblockWriteProbability))
            {
                misdirected = true;
                misdirectedWrites++;
                target = (copy + 1 + (int)prng.Below(Copies - 1)) % Copies;
            }

            superblock[target] = DiskBlock.EncodeSuperblock(state, copy);
        }

        current = state;
    }

    /// <summary>
    /// Reclaims compacted entries: writes the retained state as a fresh run of blocks (a reset to just
    /// before the first retained entry, the entries, the hard state), syncs it, then switches the
    /// superblock to it. Atomic here, like a copy to a new segment followed by a superblock update.
    /// </summary>
    private void Rewrite()
    {
        compacted = false;
        latentDamage = false;
        newestBatchStart = -1;
        compactions++;
        var state = shadow.Load();
        var firstSeq = nextSeq;
        var firstBatch = nextBatch;
        var rewritten = new List<byte[]?>();
        var start = state.Entries.Count > 0 ? state.Entries[0].Op.Previous : state.LogHead;
        rewritten.Add(DiskBlock.Encode(BlockType.Reset, false, nextSeq++, nextBatch, start, null, default, 0));
        foreach (var entry in state.Entries)
        {
            rewritten.Add(DiskBlock.Encode(BlockType.Entry, false, nextSeq++, nextBatch, entry.Op, entry, default, 0));
        }

        rewritten.Add(DiskBlock.Encode(BlockType.HardState, true, nextSeq++, nextBatch, OpNumber.Zero, null, state.HardState, 0));
        nextBatch++;
        blocks = rewritten;
        WriteSuperblock(current with
        {
            Sequence = current.Sequence + 1,
            HardState = state.HardState,
            WalSeq = nextSeq - 1,
            FirstSeq = firstSeq,
            FirstBatch = firstBatch,
        });
    }
}
