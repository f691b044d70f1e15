using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Messages;

namespace Viewstamped.Codec;

/// <summary>
/// Encodes messages to frames and decodes frames back, for one cluster. The layout is described by
/// <see cref="WireLayout"/> and docs/wire-format.md. The codec is immutable and holds no state
/// between calls, so one instance may be shared freely.
/// </summary>
/// <remarks>
/// <see cref="Decode"/> never throws, whatever the bytes: every failure is a <see cref="DecodeResult"/>
/// error. It checks every length and count against the bytes actually present before it allocates,
/// so what it allocates is proportional to the frame and never to a number read from it.
/// Encoding throws <see cref="ArgumentException"/> for a message that cannot be encoded (too large,
/// a null array, an undefined enum value) because that is a bug in the caller.
/// </remarks>
public sealed class MessageCodec
{
    /// <summary>
    /// The DoViewChange flags byte after its entries, present only when a flag is set, so that frames from
    /// before it (no byte) decode unchanged: bit 0, <see cref="DoViewChange.TailUncertain"/>.
    /// </summary>
    private const byte TailUncertainFlag = 1;

    /// <summary>Bit 1 of the DoViewChange flags byte: <see cref="DoViewChange.LogDamaged"/>.</summary>
    private const byte LogDamagedFlag = 2;

    /// <summary>Creates a codec for <paramref name="cluster"/> that refuses frames larger than <paramref name="messageSizeMax"/>.</summary>
    /// <param name="cluster">The cluster id; decoding refuses frames of any other cluster.</param>
    /// <param name="messageSizeMax">
    /// The largest frame, header included, from <see cref="WireLayout.HeaderSize"/> to
    /// <see cref="WireLayout.MessageSizeMaxLimit"/>. Default 16 MiB.
    /// </param>
    public MessageCodec(UInt128 cluster, int messageSizeMax = WireLayout.DefaultMessageSizeMax)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(messageSizeMax, WireLayout.HeaderSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(messageSizeMax, WireLayout.MessageSizeMaxLimit);
        Cluster = cluster;
        MessageSizeMax = messageSizeMax;
    }

    /// <summary>The cluster whose frames this codec accepts.</summary>
    public UInt128 Cluster { get; }

    /// <summary>The largest frame, header included, this codec encodes or accepts.</summary>
    public int MessageSizeMax { get; }

    /// <summary>
    /// The frame size <paramref name="message"/> encodes to. Throws <see cref="ArgumentException"/>
    /// when the message cannot be encoded or its frame would exceed <see cref="MessageSizeMax"/>.
    /// </summary>
    public int GetEncodedLength(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var size = WireLayout.HeaderSize + BodySize(message);
        if (size > MessageSizeMax)
        {
            throw new ArgumentException($"{message.Command} encodes to {size} bytes, more than the limit of {MessageSizeMax}", nameof(message));
        }

        return (int)size;
    }

    /// <summary>Encodes <paramref name="message"/> into a new array holding exactly its frame.</summary>
    public byte[] Encode(Message message)
    {
        var frame = new byte[GetEncodedLength(message)];
        Write(message, frame);
        return frame;
    }

    /// <summary>
    /// Encodes <paramref name="message"/> at the start of <paramref name="destination"/> and returns
    /// the frame's length. Throws <see cref="ArgumentException"/> when the destination is too small.
    /// </summary>
    public int Encode(Message message, Span<byte> destination)
    {
        var length = GetEncodedLength(message);
        if (destination.Length < length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the frame needs {length}", nameof(destination));
        }

        Write(message, destination[..length]);
        return length;
    }

    /// <summary>Encodes <paramref name="message"/> into <paramref name="output"/>, advances it and returns the frame's length.</summary>
    public int Encode(Message message, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var length = GetEncodedLength(message);
        Write(message, output.GetSpan(length)[..length]);
        output.Advance(length);
        return length;
    }

    /// <summary>
    /// Decodes one whole frame: exactly the header and the body it announces, no more and no less.
    /// Never throws; a frame of another cluster, version or with a bad checksum is an error.
    /// </summary>
    /// <remarks>
    /// Checks run in this order, and the first that fails is reported: length of the fixed header
    /// (<see cref="DecodeError.TooShort"/>), magic, version, header checksum, cluster, command, body
    /// size against <see cref="MessageSizeMax"/> (<see cref="DecodeError.TooLarge"/>), frame length
    /// against the body size (<see cref="DecodeError.TooShort"/> or <see cref="DecodeError.TrailingBytes"/>),
    /// body checksum, then the body itself (<see cref="DecodeError.MalformedBody"/>, or
    /// <see cref="DecodeError.TrailingBytes"/> when bytes follow the last field).
    /// </remarks>
    public DecodeResult Decode(ReadOnlySpan<byte> frame)
    {
        if (!TryReadHeader(frame, Cluster, MessageSizeMax, out var bodySize, out var failure))
        {
            return failure;
        }

        var frameLength = (long)WireLayout.HeaderSize + bodySize;
        if (frame.Length < frameLength)
        {
            return DecodeResult.Fail(DecodeError.TooShort, frame.Length, "the frame ends before the body the header announces");
        }

        if (frame.Length > frameLength)
        {
            return DecodeResult.Fail(DecodeError.TrailingBytes, (int)frameLength, "bytes follow the body the header announces");
        }

        var body = frame[WireLayout.HeaderSize..];
        if (XxHash3.HashToUInt64(body) != BinaryPrimitives.ReadUInt64LittleEndian(frame[WireLayout.BodyChecksumOffset..]))
        {
            return DecodeResult.Fail(DecodeError.BodyChecksumMismatch, WireLayout.BodyChecksumOffset, "the body checksum does not match the body");
        }

        var header = new MessageHeader(
            Cluster,
            BinaryPrimitives.ReadUInt32LittleEndian(frame[WireLayout.EpochOffset..]),
            new View(BinaryPrimitives.ReadUInt64LittleEndian(frame[WireLayout.ViewOffset..])),
            new ReplicaIndex(frame[WireLayout.ReplicaOffset]));
        return ReadBody((Command)frame[WireLayout.CommandOffset], header, body);
    }

    /// <summary>
    /// Reads the size of the whole frame from its fixed header, so a transport knows how many bytes to
    /// buffer. Checks the magic, version, header checksum, command, cluster and
    /// <see cref="MessageSizeMax"/>; returns false with <see cref="DecodeError.TooShort"/> when
    /// <paramref name="prefix"/> holds fewer than <see cref="WireLayout.HeaderSize"/> bytes (read
    /// more and retry), and false with any other error when the connection should be dropped.
    /// </summary>
    public bool TryReadFrameLength(ReadOnlySpan<byte> prefix, out int totalLength, out DecodeError error)
        => TryReadFrameLength(prefix, Cluster, MessageSizeMax, out totalLength, out error);

    /// <summary>
    /// Like the instance method but without the cluster check: reads the frame size from the fixed
    /// header at the start of <paramref name="prefix"/>, refusing frames over <paramref name="messageSizeMax"/>.
    /// </summary>
    public static bool TryReadFrameLength(ReadOnlySpan<byte> prefix, int messageSizeMax, out int totalLength, out DecodeError error)
        => TryReadFrameLength(prefix, null, messageSizeMax, out totalLength, out error);

    /// <summary>
    /// Recomputes the body size (when <paramref name="updateBodySize"/>), the body checksum and the
    /// header checksum of a frame in place, so tests can hand hand-edited bodies to the body parser.
    /// </summary>
    internal static void Reseal(Span<byte> frame, bool updateBodySize = true)
    {
        if (updateBodySize)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(frame[WireLayout.BodySizeOffset..], (uint)(frame.Length - WireLayout.HeaderSize));
        }

        BinaryPrimitives.WriteUInt64LittleEndian(frame[WireLayout.BodyChecksumOffset..], XxHash3.HashToUInt64(frame[WireLayout.HeaderSize..]));
        BinaryPrimitives.WriteUInt64LittleEndian(frame[WireLayout.HeaderChecksumOffset..], XxHash3.HashToUInt64(frame[..WireLayout.HeaderChecksumOffset]));
    }

    private static bool TryReadFrameLength(ReadOnlySpan<byte> prefix, UInt128? cluster, int messageSizeMax, out int totalLength, out DecodeError error)
    {
        if (!TryReadHeader(prefix, cluster, messageSizeMax, out var bodySize, out var failure))
        {
            totalLength = 0;
            error = failure.Error;
            return false;
        }

        totalLength = WireLayout.HeaderSize + (int)bodySize;
        error = DecodeError.None;
        return true;
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> frame, UInt128? cluster, int messageSizeMax, out uint bodySize, out DecodeResult failure)
    {
        bodySize = 0;
        failure = default;
        if (frame.Length < WireLayout.HeaderSize)
        {
            failure = DecodeResult.Fail(DecodeError.TooShort, frame.Length, "the frame is shorter than the fixed header");
            return false;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(frame) != WireLayout.Magic)
        {
            failure = DecodeResult.Fail(DecodeError.BadMagic, WireLayout.MagicOffset, "the frame does not start with the magic \"VSR1\"");
            return false;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(frame[WireLayout.VersionOffset..]) != WireLayout.Version)
        {
            failure = DecodeResult.Fail(DecodeError.UnsupportedVersion, WireLayout.VersionOffset, "the wire-format version is not 2");
            return false;
        }

        if (XxHash3.HashToUInt64(frame[..WireLayout.HeaderChecksumOffset]) != BinaryPrimitives.ReadUInt64LittleEndian(frame[WireLayout.HeaderChecksumOffset..]))
        {
            failure = DecodeResult.Fail(DecodeError.HeaderChecksumMismatch, WireLayout.HeaderChecksumOffset, "the header checksum does not match the header");
            return false;
        }

        if (cluster is { } expected && BinaryPrimitives.ReadUInt128LittleEndian(frame[WireLayout.ClusterOffset..]) != expected)
        {
            failure = DecodeResult.Fail(DecodeError.WrongCluster, WireLayout.ClusterOffset, "the frame belongs to another cluster");
            return false;
        }

        if (frame[WireLayout.CommandOffset] is < (byte)Command.Request or > (byte)Command.RepairEntry)
        {
            failure = DecodeResult.Fail(DecodeError.UnknownCommand, WireLayout.CommandOffset, "the command byte names no known message");
            return false;
        }

        bodySize = BinaryPrimitives.ReadUInt32LittleEndian(frame[WireLayout.BodySizeOffset..]);
        if (bodySize > (uint)(messageSizeMax - WireLayout.HeaderSize))
        {
            failure = DecodeResult.Fail(DecodeError.TooLarge, WireLayout.BodySizeOffset, "the body size exceeds the message size limit");
            return false;
        }

        return true;
    }

    private static DecodeResult ReadBody(Command command, MessageHeader header, ReadOnlySpan<byte> body)
    {
        var r = new WireReader(body, WireLayout.HeaderSize);
        Message? message = command switch
        {
            Command.Request => ReadRequest(ref r, header),
            Command.Reply => ReadReply(ref r, header),
            Command.Prepare => ReadPrepare(ref r, header),
            Command.PrepareOk => ReadPrepareOk(ref r, header),
            Command.Commit => ReadCommit(ref r, header),
            Command.StartViewChange => new StartViewChange { Header = header },
            Command.DoViewChange => ReadDoViewChange(ref r, header),
            Command.StartView => ReadStartView(ref r, header),
            Command.Recovery => ReadRecovery(ref r, header),
            Command.RecoveryResponse => ReadRecoveryResponse(ref r, header),
            Command.GetState => ReadGetState(ref r, header),
            Command.NewState => ReadNewState(ref r, header),
            Command.GetCheckpoint => ReadGetCheckpoint(ref r, header),
            Command.CheckpointChunk => ReadCheckpointChunk(ref r, header),
            Command.RequestEntry => ReadRequestEntry(ref r, header),
            Command.RepairEntry => ReadRepairEntry(ref r, header),
            _ => null,
        };
        if (r.Failed || message is null)
        {
            return DecodeResult.Fail(DecodeError.MalformedBody, r.FrameOffset, r.Reason ?? "malformed body");
        }

        if (r.Remaining != 0)
        {
            return DecodeResult.Fail(DecodeError.TrailingBytes, r.FrameOffset, "the body has bytes after the message's last field");
        }

        return DecodeResult.Ok(message);
    }

    // Each reader reads every field (a failed reader returns defaults without allocating) and builds
    // the message only when nothing failed.
    private static Request? ReadRequest(ref WireReader r, MessageHeader header)
    {
        var client = new ClientId(r.U128());
        var requestNumber = r.U64();
        var kind = r.ReadRequestKind();
        var operation = r.Bytes();
        return r.Failed ? null : new Request(client, requestNumber, kind, operation) { Header = header };
    }

    private static Reply? ReadReply(ref WireReader r, MessageHeader header)
    {
        var client = new ClientId(r.U128());
        var requestNumber = r.U64();
        var status = r.ReadReplyStatus();
        var op = r.ReadOp();
        var result = r.Bytes();
        return r.Failed ? null : new Reply(client, requestNumber, status, op, result) { Header = header };
    }

    private static Prepare? ReadPrepare(ref WireReader r, MessageHeader header)
    {
        var commit = r.ReadOp();
        var entries = r.Entries();
        return r.Failed ? null : new Prepare(commit, entries) { Header = header };
    }

    private static PrepareOk? ReadPrepareOk(ref WireReader r, MessageHeader header)
    {
        var op = r.ReadOp();
        return r.Failed ? null : new PrepareOk(op) { Header = header };
    }

    private static Commit? ReadCommit(ref WireReader r, MessageHeader header)
    {
        var commit = r.ReadOp();
        var op = r.ReadOp();
        return r.Failed ? null : new Commit(commit, op) { Header = header };
    }

    private static byte DoViewChangeFlags(DoViewChange m) =>
        (byte)((m.TailUncertain ? TailUncertainFlag : 0) | (m.LogDamaged ? LogDamagedFlag : 0));

    private static DoViewChange? ReadDoViewChange(ref WireReader r, MessageHeader header)
    {
        var logView = r.ReadView();
        var op = r.ReadOp();
        var commit = r.ReadOp();
        var entries = r.Entries();
        var flags = r.TrailingFlags(TailUncertainFlag | LogDamagedFlag);
        return r.Failed ? null : new DoViewChange(logView, op, commit, entries)
        {
            Header = header,
            TailUncertain = (flags & TailUncertainFlag) != 0,
            LogDamaged = (flags & LogDamagedFlag) != 0,
        };
    }

    private static StartView? ReadStartView(ref WireReader r, MessageHeader header)
    {
        var op = r.ReadOp();
        var commit = r.ReadOp();
        var entries = r.Entries();
        return r.Failed ? null : new StartView(op, commit, entries) { Header = header };
    }

    private static Recovery? ReadRecovery(ref WireReader r, MessageHeader header)
    {
        var nonce = r.U128();
        return r.Failed ? null : new Recovery(nonce) { Header = header };
    }

    private static RecoveryResponse? ReadRecoveryResponse(ref WireReader r, MessageHeader header)
    {
        var nonce = r.U128();
        var op = r.ReadOp();
        var commit = r.ReadOp();
        var entries = r.Entries();
        return r.Failed ? null : new RecoveryResponse(nonce, op, commit, entries) { Header = header };
    }

    private static GetState? ReadGetState(ref WireReader r, MessageHeader header)
    {
        var op = r.ReadOp();
        return r.Failed ? null : new GetState(op) { Header = header };
    }

    private static NewState? ReadNewState(ref WireReader r, MessageHeader header)
    {
        var op = r.ReadOp();
        var commit = r.ReadOp();
        var entries = r.Entries();
        var checkpointOp = r.ReadOp();
        var checkpointSize = r.U64();
        var checkpointChecksum = r.U64();
        return r.Failed ? null : new NewState(op, commit, entries, checkpointOp, checkpointSize, checkpointChecksum) { Header = header };
    }

    private static GetCheckpoint? ReadGetCheckpoint(ref WireReader r, MessageHeader header)
    {
        var checkpointOp = r.ReadOp();
        var offset = r.U64();
        return r.Failed ? null : new GetCheckpoint(checkpointOp, offset) { Header = header };
    }

    private static CheckpointChunk? ReadCheckpointChunk(ref WireReader r, MessageHeader header)
    {
        var checkpointOp = r.ReadOp();
        var totalSize = r.U64();
        var checksum = r.U64();
        var offset = r.U64();
        var data = r.Bytes();
        return r.Failed ? null : new CheckpointChunk(checkpointOp, totalSize, checksum, offset, data) { Header = header };
    }

    private static RequestEntry? ReadRequestEntry(ref WireReader r, MessageHeader header)
    {
        var op = r.ReadOp();
        var checksum = r.U64();
        return r.Failed ? null : new RequestEntry(op, checksum) { Header = header };
    }

    private static RepairEntry? ReadRepairEntry(ref WireReader r, MessageHeader header) =>
        r.Entry() is { } entry ? new RepairEntry(entry) { Header = header } : null;

    private static void Write(Message message, Span<byte> frame)
    {
        var w = new WireWriter(frame);
        w.U32(WireLayout.Magic);
        w.U16(WireLayout.Version);
        w.U8((byte)message.Command);
        w.U8(message.Header.Replica.Value);
        w.U128(message.Header.Cluster);
        w.U32(message.Header.Epoch);
        w.U64(message.Header.View.Value);
        w.U32((uint)(frame.Length - WireLayout.HeaderSize));
        w.U64(0); // body checksum, sealed below
        w.U64(0); // header checksum, sealed below

        switch (message)
        {
            case Request m:
                w.U128(m.Client.Value);
                w.U64(m.RequestNumber);
                w.U8((byte)m.Kind);
                w.Bytes(m.Operation);
                break;
            case Reply m:
                w.U128(m.Client.Value);
                w.U64(m.RequestNumber);
                w.U8((byte)m.Status);
                w.U64(m.Op.Value);
                w.Bytes(m.Result);
                break;
            case Prepare m:
                w.U64(m.CommitNumber.Value);
                w.Entries(m.Entries);
                break;
            case PrepareOk m:
                w.U64(m.Op.Value);
                break;
            case Commit m:
                w.U64(m.CommitNumber.Value);
                w.U64(m.Op.Value);
                break;
            case StartViewChange:
                break;
            case DoViewChange m:
                w.U64(m.LogView.Value);
                w.U64(m.Op.Value);
                w.U64(m.CommitNumber.Value);
                w.Entries(m.Entries);
                if (DoViewChangeFlags(m) is not 0 and var flags)
                {
                    w.U8(flags);
                }

                break;
            case StartView m:
                w.U64(m.Op.Value);
                w.U64(m.CommitNumber.Value);
                w.Entries(m.Entries);
                break;
            case Recovery m:
                w.U128(m.Nonce);
                break;
            case RecoveryResponse m:
                w.U128(m.Nonce);
                w.U64(m.Op.Value);
                w.U64(m.CommitNumber.Value);
                w.Entries(m.Entries);
                break;
            case GetState m:
                w.U64(m.Op.Value);
                break;
            case NewState m:
                w.U64(m.Op.Value);
                w.U64(m.CommitNumber.Value);
                w.Entries(m.Entries);
                w.U64(m.CheckpointOp.Value);
                w.U64(m.CheckpointSize);
                w.U64(m.CheckpointChecksum);
                break;
            case GetCheckpoint m:
                w.U64(m.CheckpointOp.Value);
                w.U64(m.Offset);
                break;
            case CheckpointChunk m:
                w.U64(m.CheckpointOp.Value);
                w.U64(m.TotalSize);
                w.U64(m.Checksum);
                w.U64(m.Offset);
                w.Bytes(m.Data);
                break;
            case RequestEntry m:
                w.U64(m.Op.Value);
                w.U64(m.Checksum);
                break;
            case RepairEntry m:
                w.Entry(m.Entry);
                break;
            default:
                throw Unencodable($"Unknown message type {message.GetType().Name}");
        }

        Invariant.That(w.Position == frame.Length, "encoder wrote a different size than it computed");
        Reseal(frame, updateBodySize: false);
    }

    // The body size of a message, after checking that it can be encoded at all. Computed in long so
    // that no combination of array lengths overflows.
    private static long BodySize(Message message) => message switch
    {
        Request m => 16 + 8 + 1 + BytesSize(m.Operation, nameof(Request.Operation)) + Check(m.Kind is RequestKind.Register or RequestKind.Operation, "Request.Kind is undefined"),
        Reply m => 16 + 8 + 1 + 8 + BytesSize(m.Result, nameof(Reply.Result)) + Check(m.Status <= ReplyStatus.TooLarge, "Reply.Status is undefined"),
        Prepare m => 8 + EntriesSize(m.Entries),
        PrepareOk => 8,
        Commit => 16,
        StartViewChange => 0,
        DoViewChange m => 24 + EntriesSize(m.Entries) + (DoViewChangeFlags(m) == 0 ? 0 : 1),
        StartView m => 16 + EntriesSize(m.Entries),
        Recovery => 16,
        RecoveryResponse m => 32 + EntriesSize(m.Entries),
        GetState => 8,
        NewState m => 16 + EntriesSize(m.Entries) + 24,
        GetCheckpoint => 16,
        CheckpointChunk m => 32 + BytesSize(m.Data, nameof(CheckpointChunk.Data)),
        RequestEntry => 16,
        RepairEntry m => m.Entry is null ? throw Unencodable("Entry is null") : EntrySize(m.Entry),
        _ => throw Unencodable($"Unknown message type {message.GetType().Name}"),
    };

    private static long BytesSize(byte[]? bytes, string field) =>
        bytes is null ? throw Unencodable($"{field} is null") : 4L + bytes.Length;

    private static long EntriesSize(LogEntry[]? entries)
    {
        if (entries is null)
        {
            throw Unencodable("Entries is null");
        }

        var size = 4L;
        foreach (var entry in entries)
        {
            if (entry is null)
            {
                throw Unencodable("Entries holds a null entry");
            }

            size += EntrySize(entry);
        }

        return size;
    }

    private static long EntrySize(LogEntry entry) =>
        8 + 8 + 1 + 16 + 8
        + BytesSize(entry.Operation, nameof(LogEntry.Operation))
        + BytesSize(entry.Prediction, nameof(LogEntry.Prediction))
        + 8
        + Check(entry.Kind is EntryKind.Register or EntryKind.Operation, "LogEntry.Kind is undefined");

    // Zero when the condition holds, so checks can sit inside size expressions.
    private static long Check(bool condition, string reason) => condition ? 0 : throw Unencodable(reason);

    private static ArgumentException Unencodable(string reason) => new($"Cannot encode: {reason}");
}
