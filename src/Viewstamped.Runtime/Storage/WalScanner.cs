using System.IO.Hashing;

namespace Viewstamped.Runtime.Storage;

/// <summary>What scanning the write-ahead log found: the replayed model, where writing continues, and every problem.</summary>
internal sealed class ScanResult
{
    public LogModel Model { get; } = new();

    /// <summary>Segment files that exist, from the base segment on.</summary>
    public List<ulong> Segments { get; } = [];

    /// <summary>The log state at the start of each scanned segment, for moving the base forward later.</summary>
    public SortedDictionary<ulong, WalBase> SegmentStarts { get; } = [];

    /// <summary>The segment holding the last record to keep (0: none); bytes after <see cref="TailOffset"/> in it, and every later segment, hold nothing to keep.</summary>
    public ulong TailSegment { get; set; }

    public long TailOffset { get; set; }

    public ulong NextSeq { get; set; }

    public ulong NextBatch { get; set; }

    public ulong LastChecksum { get; set; }

    /// <summary>The records to void before writing, when corruption cut the log.</summary>
    public (ulong From, ulong To)? VoidNeeded { get; set; }

    /// <summary>The sequence number of the first corrupt record, when the log was cut for corruption.</summary>
    public ulong? CorruptAtSeq { get; set; }

    public List<OpNumber> CorruptEntries { get; } = [];

    public List<OpNumber> EntriesAfterCorruption { get; } = [];

    /// <summary>
    /// When every record after the damage was found and only entry bodies are lost: the op the log the
    /// records leave starts to differ from the model after (the model is exact up to it), and the entries
    /// after it, null where an entry's body was lost. The replica repairs those from its peers.
    /// </summary>
    public (OpNumber Head, List<EntryLocation?> Entries)? DamagedSuffix { get; set; }

    public List<string> Problems { get; } = [];

    public long TornBytes { get; set; }

    public int TornRecords { get; set; }

    /// <summary>
    /// True when the log was cut after its last intact record because of a damaged or torn region that
    /// nothing durable vouched for: a write torn by a power cut, or the newest batch rotted before its
    /// summary was durable. The two look the same (<see cref="DurableState.TailUncertain"/>).
    /// </summary>
    public bool TornCut { get; set; }

    /// <summary>
    /// True when the log ends, intact, past every record the superblock and the durable batch summaries vouch
    /// for: summaries written before later batches went to disk were lost, so the page cache was (or the
    /// newest batch's fsync had not returned yet). A lost newest batch would be invisible then.
    /// </summary>
    public bool EndsPastCoverage { get; set; }

    public long RecordsScanned { get; set; }

    public long BytesScanned { get; set; }
}

/// <summary>
/// Reads every segment from the base on, checks each record (header checksum, body checksum, the hash
/// chain, sequence and batch numbers) and replays complete batches into a <see cref="LogModel"/>.
/// At the first bad byte it resynchronizes on the next valid record header and decides what the damage is:
/// <list type="bullet">
/// <item>a torn write, when nothing valid from a later batch follows and no batch summary vouches for the
/// damaged batch: the last batch was being written when power failed and was never acknowledged (group
/// commit writes batch n+1 only after batch n's fsync), so the log is cut after the last complete batch;</item>
/// <item>corruption, when valid records of a later batch follow (the damaged batch had been fsynced), or
/// the cut would drop records the superblock or the newest batch summary (<see cref="BatchRing"/>, written
/// only after its batch's fsync) already covers: the returned log ends before the damage, the damage is
/// reported, and the records after it are voided at the next write.</item>
/// </list>
/// Zeros from a record boundary to the end of a segment are preallocated space, not damage.
/// Records inside a range a <see cref="RecordType.Void"/> record names are skipped; since a Void record
/// comes after the range it voids, a scan that meets one it did not know runs again with it.
/// </summary>
internal sealed class WalScanner
{
    private readonly string directory;
    private readonly ulong salt;
    private readonly StorageIdentity identity;
    private readonly SuperblockState superblock;
    private readonly List<(ulong From, ulong To)> voids;

    /// <summary>The newest valid batch summary: every record up to its last one had been made durable.</summary>
    private readonly BatchSummary? summary;

    /// <summary>The last sequence number known durable: the superblock's, or the newest batch summary's if higher.</summary>
    private readonly ulong covered;
    private readonly List<(ulong From, ulong To)> voidsSeen = [];
    private readonly List<RecordInfo> pending = [];
    private readonly ScanResult result = new();

    // The last record in the chain (accepted, possibly still pending in an open batch).
    private Position last;

    // The last record applied to the model (the end of the last complete batch).
    private Position applied;
    private Damage? damage;
    private (ulong From, ulong To)? skipping;

    private WalScanner(string directory, ulong salt, StorageIdentity identity, SuperblockState superblock, List<(ulong From, ulong To)> voids)
    {
        this.directory = directory;
        this.salt = salt;
        this.identity = identity;
        this.superblock = superblock;
        this.voids = voids;
        summary = BatchRing.ReadNewest(directory, salt);
        covered = Math.Max(superblock.WalSeq, summary?.LastSeq ?? 0);
    }

    /// <summary>Scans the log, again if it meets Void records it did not know.</summary>
    public static ScanResult Scan(string directory, ulong salt, StorageIdentity identity, SuperblockState superblock)
    {
        var voids = new List<(ulong From, ulong To)>();
        for (var pass = 0; ; pass++)
        {
            var scanner = new WalScanner(directory, salt, identity, superblock, voids);
            scanner.Run();
            var unknown = scanner.voidsSeen.Where(v => !voids.Contains(v)).ToList();
            if (unknown.Count == 0 || pass >= 8)
            {
                return scanner.result;
            }

            voids.AddRange(unknown);
        }
    }

    private void Run()
    {
        var b = superblock.Base;
        last = new Position(b.FirstSeq - 1, b.FirstBatch - 1, true, b.PrevChecksum, b.Segment, StorageLayout.SegmentHeaderSize);
        applied = last;
        result.Model.Head = b.Head;
        result.Model.HardState = superblock.HardState;
        result.Model.Current = superblock.Current;
        result.Model.Previous = superblock.Previous;
        result.Model.StateFloor = superblock.WalSeq;

        foreach (var file in Directory.EnumerateFiles(directory, "log-*.wal"))
        {
            if (StorageLayout.TryParseSegmentFileName(Path.GetFileName(file), out var number) && number >= b.Segment)
            {
                result.Segments.Add(number);
            }
        }

        result.Segments.Sort();
        var expected = b.Segment;
        var fresh = b == WalBase.Initial && covered == 0;
        if (result.Segments.Count == 0 && !fresh)
        {
            StartDamage(b.Segment, StorageLayout.SegmentHeaderSize, $"segment {b.Segment}, where the log starts, is missing");
        }

        foreach (var segment in result.Segments)
        {
            if (segment != expected && damage is null)
            {
                StartDamage(expected, StorageLayout.SegmentHeaderSize, $"segment {expected} is missing");
            }

            expected = segment + 1;
            ScanSegment(segment);
        }

        Finish();
    }

    private void ScanSegment(ulong segment)
    {
        var data = File.ReadAllBytes(Path.Combine(directory, StorageLayout.SegmentFileName(segment)));
        result.BytesScanned += data.Length;
        CheckSegmentHeader(segment, data);
        if (damage is null && skipping is null)
        {
            result.SegmentStarts[segment] = new WalBase(segment, last.Seq + 1, last.BatchEnd ? last.Batch + 1 : last.Batch, result.Model.Head, last.Checksum);
            if (last.Segment != segment && pending.Count == 0)
            {
                last = last with { Segment = segment, End = StorageLayout.SegmentHeaderSize };
                applied = last;
            }
        }

        long position = StorageLayout.SegmentHeaderSize;
        while (position + StorageLayout.RecordHeaderSize <= data.Length)
        {
            var span = data.AsSpan((int)position);
            if (!RecordHeader.TryRead(span, salt, out var header) || header.RecordLength > span.Length || header.Seq <= last.Seq)
            {
                if (span.IndexOfAnyExcept((byte)0) < 0)
                {
                    // Zeros to the end: space the writer preallocated and has not used yet. Whether records
                    // are missing is decided as at any segment end: by the hash chain into the next segment,
                    // the last batch's end record, and the superblock's coverage.
                    position = data.Length;
                    break;
                }

                if (damage is null && skipping is null)
                {
                    DamageOrVoid(segment, position, $"segment {segment} offset {position}: no valid record where record {last.Seq + 1} belongs");
                }

                position += 8;
                continue;
            }

            var body = span.Slice(StorageLayout.RecordHeaderSize, header.BodyLength);
            var bodyOk = XxHash3.HashToUInt64(body, (long)salt) == header.BodyChecksum
                && RecordBody.LengthFits(header.Type, header.BodyLength);
            var info = Decode(header, segment, position, body, bodyOk);
            if (bodyOk && header.Type == RecordType.Void)
            {
                voidsSeen.Add((info.VoidFrom, info.VoidTo));
            }

            result.RecordsScanned++;
            Step(info, bodyOk);
            position += header.RecordLength;
        }

        // Fewer bytes than a record header are left: zeros are unused preallocated space, as above.
        if (position < data.Length && damage is null && skipping is null && data.AsSpan((int)position).IndexOfAnyExcept((byte)0) >= 0)
        {
            DamageOrVoid(segment, position, $"segment {segment} ends inside a record header at offset {position}");
        }

        if (damage is null && skipping is null && pending.Count > 0 && segment != result.Segments[^1])
        {
            StartDamage(segment, data.Length, $"segment {segment} ends inside batch {last.Batch}");
        }
    }

    private void Step(in RecordInfo info, bool bodyOk)
    {
        var header = info.Header;
        if (skipping is { } skip)
        {
            if (header.Seq <= skip.To)
            {
                last = Position.Of(info);
                return;
            }

            if (header.Seq != skip.To + 1 || !bodyOk)
            {
                skipping = null;
                StartDamage(info.Segment, info.Offset, $"record {skip.To + 1}, after the void records {skip.From} to {skip.To}, is missing or corrupt");
                damage!.Found.Add((info, bodyOk));
                return;
            }

            skipping = null;
            Accept(info);
            return;
        }

        if (damage is not null)
        {
            damage.Found.Add((info, bodyOk));
            return;
        }

        if (VoidContaining(header.Seq) is { } voided && header.Seq == last.Seq + 1)
        {
            EnterVoid(voided);
            last = Position.Of(info);
            return;
        }

        var batchOk = last.BatchEnd ? header.Batch == last.Batch + 1 : header.Batch == last.Batch;
        if (header.Seq == last.Seq + 1 && header.Prev == last.Checksum && batchOk && bodyOk)
        {
            Accept(info);
            return;
        }

        var why = !bodyOk ? $"record {header.Seq} ({header.Type}{(header.Type == RecordType.Entry ? $" op {header.Op}" : string.Empty)}) failed its body checksum"
            : header.Seq != last.Seq + 1 ? $"record {header.Seq} follows record {last.Seq}"
            : header.Prev != last.Checksum ? $"record {header.Seq} does not chain to record {last.Seq}"
            : $"record {header.Seq} has batch {header.Batch} after batch {last.Batch}";
        if (VoidContaining(last.Seq + 1) is { } v)
        {
            EnterVoid(v);
            Step(info, bodyOk);
            return;
        }

        StartDamage(info.Segment, info.Offset, $"segment {info.Segment} offset {info.Offset}: {why}");
        damage!.Found.Add((info, bodyOk));
    }

    private void Accept(in RecordInfo info)
    {
        pending.Add(info);
        last = Position.Of(info);
        if (info.Header.BatchEnd)
        {
            ApplyPending();
        }
    }

    private void ApplyPending()
    {
        foreach (var record in pending)
        {
            if (result.Model.Apply(record) is { } contradiction)
            {
                throw new StorageException(StorageError.Corrupt, $"the log in '{directory}' contradicts itself: {contradiction}");
            }
        }

        if (pending.Count > 0)
        {
            applied = Position.Of(pending[^1]);
            pending.Clear();
        }
    }

    private void EnterVoid((ulong From, ulong To) voided)
    {
        // A void range starts right after the last record applied when it was written, so what came before it counts, batch or not.
        ApplyPending();
        skipping = voided;
    }

    private (ulong From, ulong To)? VoidContaining(ulong seq)
    {
        foreach (var v in voids)
        {
            if (seq >= v.From && seq <= v.To)
            {
                return v;
            }
        }

        return null;
    }

    private void DamageOrVoid(ulong segment, long offset, string description)
    {
        if (VoidContaining(last.Seq + 1) is { } voided)
        {
            EnterVoid(voided);
        }
        else
        {
            StartDamage(segment, offset, description);
        }
    }

    private void StartDamage(ulong segment, long offset, string description)
    {
        if (damage is null)
        {
            damage = new Damage(segment, offset, last, description);
        }
    }

    private void Finish()
    {
        var model = result.Model;
        if (skipping is not null)
        {
            // The log ends inside a void range: nothing after the range was written yet.
            skipping = null;
        }

        if (damage is null && pending.Count > 0)
        {
            damage = new Damage(pending[0].Segment, pending[0].Offset, applied, $"the last batch ({last.Batch}) has no end record");
            damage.Found.AddRange(pending.Select(p => (p, true)));
            pending.Clear();
        }

        if (damage is null)
        {
            SetTail(last);
            CheckCoverage();
            return;
        }

        var startBatch = damage.After.BatchEnd ? damage.After.Batch + 1 : damage.After.Batch;
        var laterBatch = damage.Found.Any(f => f.Info.Header.Batch > startBatch);
        var cutSeq = pending.Count > 0 ? applied.Seq : damage.After.Seq;
        if (!laterBatch && applied.Seq >= covered)
        {
            // A torn write: the batch being written when power failed. Never acknowledged; cut it.
            result.TornCut = true;
            result.TornRecords = pending.Count + damage.Found.Count;
            result.TornBytes = BytesAfter(applied);
            result.Problems.Add($"torn write cut: {damage.Description}; {result.TornRecords} unacknowledged record(s), {result.TornBytes} byte(s) dropped");
            pending.Clear();
            SetTail(applied);
            return;
        }

        // Corruption: what was fsynced before the damage counts; the rest is reported and voided.
        ApplyPending();
        result.CorruptAtSeq = damage.After.Seq + 1;
        result.Problems.Add(laterBatch
            ? $"corruption: {damage.Description}, with valid records after it; the log is cut before record {damage.After.Seq + 1}"
            : $"corruption: {damage.Description}; the log ends at record {cutSeq}, before {Coverage()}");
        foreach (var (info, bodyOk) in damage.Found)
        {
            if (info.Header.Type == RecordType.Entry)
            {
                (bodyOk ? result.EntriesAfterCorruption : result.CorruptEntries).Add(info.Header.Op);
            }
        }

        // Writing continues after the last record found (in file order); every sequence number from the
        // damage to the highest one used (found, or covered by the superblock) is voided first.
        var lastFound = damage.Found.Count > 0 ? Position.Of(damage.Found[^1].Info) : applied;
        var highest = Math.Max(Math.Max(lastFound.Seq, covered), damage.Found.Count > 0 ? damage.Found.Max(f => f.Info.Header.Seq) : 0);
        if (highest > applied.Seq)
        {
            result.VoidNeeded = (applied.Seq + 1, highest);
        }

        SetTail(lastFound);
        result.NextSeq = Math.Max(result.NextSeq, highest + 1);
        result.TornBytes = BytesAfter(lastFound);
        result.DamagedSuffix = PlaceSuffix(damage);
    }

    /// <summary>
    /// Replays the records found after the damage into a suffix of the log, when each is in sequence and
    /// chained to the one before it (so none is missing) and only entry bodies are lost: entries append
    /// (null for a lost body), truncations cut. Hard states are left out: views are in the superblock, and
    /// commit progress is safe to lose. Null for anything else (the safe path).
    /// </summary>
    private (OpNumber Head, List<EntryLocation?> Entries)? PlaceSuffix(Damage found)
    {
        var model = result.Model;
        var head = model.Head;
        var suffix = new List<EntryLocation?>();
        var previous = found.After;
        foreach (var (info, bodyOk) in found.Found)
        {
            var header = info.Header;
            if (header.Seq != previous.Seq + 1 || header.Prev != previous.Checksum)
            {
                return null;
            }

            previous = Position.Of(info);
            switch (header.Type)
            {
                case RecordType.Entry when header.Op.Value == head.Value + (ulong)suffix.Count + 1:
                    suffix.Add(bodyOk ? new EntryLocation(header.Op, info.Segment, info.Offset, header.BodyLength) : null);
                    break;
                case RecordType.TruncateAfter when bodyOk && header.Op < head:
                    head = header.Op;
                    suffix.Clear();
                    break;
                case RecordType.TruncateAfter when bodyOk:
                    var keep = (int)Math.Min(header.Op - head, (ulong)suffix.Count);
                    suffix.RemoveRange(keep, suffix.Count - keep);
                    break;
                case RecordType.HardState:
                    break;
                default:
                    return null;
            }
        }

        // Nothing may be missing at the end either, and the log up to the suffix must still be held.
        var reaches = model.Entries.Count > 0 ? head.Next >= model.Entries[0].Op : head == model.Head;
        return previous.Seq >= covered && reaches && suffix.Count > 0 ? (head, suffix) : null;
    }

    private void CheckCoverage()
    {
        result.EndsPastCoverage = last.Seq > covered;
        if (last.Seq < covered)
        {
            result.CorruptAtSeq = last.Seq + 1;
            result.Problems.Add($"corruption: the log ends at record {last.Seq}, before {Coverage()}");
        }
    }

    /// <summary>Names the record <see cref="covered"/> and what says it was made durable.</summary>
    private string Coverage() => summary is { } s && s.LastSeq > superblock.WalSeq
        ? $"record {covered}, the end of {s.Describe()}, which the batch ring says was made durable (so its damage is corruption, not a torn write)"
        : $"record {covered} the superblock covers";

    private void SetTail(Position position)
    {
        result.TailSegment = result.Segments.Contains(position.Segment) ? position.Segment : 0;
        result.TailOffset = position.End;
        result.NextSeq = position.Seq + 1;
        result.NextBatch = position.Batch + 1;
        result.LastChecksum = position.Checksum;
    }

    private long BytesAfter(Position position)
    {
        long bytes = 0;
        foreach (var segment in result.Segments.Where(s => s >= position.Segment))
        {
            var length = new FileInfo(Path.Combine(directory, StorageLayout.SegmentFileName(segment))).Length;
            bytes += segment == position.Segment ? Math.Max(0, length - position.End) : length;
        }

        return bytes;
    }

    private void CheckSegmentHeader(ulong segment, byte[] data)
    {
        var problem = SegmentHeader.Check(data, identity, segment);
        if (problem is not null)
        {
            result.Problems.Add($"segment {segment}: {problem}");
        }
    }

    private static RecordInfo Decode(RecordHeader header, ulong segment, long offset, ReadOnlySpan<byte> body, bool bodyOk)
    {
        if (!bodyOk)
        {
            return new RecordInfo(header, segment, offset);
        }

        return header.Type switch
        {
            RecordType.HardState => new RecordInfo(header, segment, offset, HardState: RecordBody.ReadHardState(body)),
            RecordType.Checkpoint => new RecordInfo(header, segment, offset,
                Checkpoint: new CheckpointReference(header.Op, RecordBody.ReadPair(body).First, RecordBody.ReadPair(body).Second)),
            RecordType.Void => new RecordInfo(header, segment, offset, VoidFrom: RecordBody.ReadPair(body).First, VoidTo: RecordBody.ReadPair(body).Second),
            _ => new RecordInfo(header, segment, offset),
        };
    }

    private readonly record struct Position(ulong Seq, ulong Batch, bool BatchEnd, ulong Checksum, ulong Segment, long End)
    {
        public static Position Of(in RecordInfo info) =>
            new(info.Header.Seq, info.Header.Batch, info.Header.BatchEnd, info.Header.Checksum, info.Segment, info.End);
    }

    private sealed record Damage(ulong Segment, long Offset, Position After, string Description)
    {
        public List<(RecordInfo Info, bool BodyOk)> Found { get; } = [];
    }
}
