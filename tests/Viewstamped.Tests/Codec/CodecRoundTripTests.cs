using System.Buffers;
using System.Buffers.Binary;
using Viewstamped.Codec;
using Viewstamped.Messages;

namespace Viewstamped.Tests.Codec;

public class CodecRoundTripTests
{
    private readonly MessageCodec codec = new(Samples.Cluster);

    public static TheoryData<Command> AllCommands()
    {
        var data = new TheoryData<Command>();
        foreach (var command in Samples.Commands)
        {
            data.Add(command);
        }

        return data;
    }

    [Fact]
    public void Every_command_has_a_sample_and_a_round_trip()
    {
        // Guards against a new message type being added without codec support.
        Assert.Equal(16, Samples.Commands.Length);
        Assert.Equal(Samples.Commands, Samples.Extremes().Select(m => m.Command));
        Assert.Equal(Samples.Commands, Samples.Minimal().Select(m => m.Command));
    }

    [Theory]
    [MemberData(nameof(AllCommands))]
    public void Random_messages_round_trip(Command command)
    {
        var prng = new Prng(0xC0DEC + (ulong)command);
        for (var i = 0; i < 300; i++)
        {
            var message = Samples.Random(prng, command);
            AssertRoundTrip(message);
        }
    }

    [Fact]
    public void Extreme_values_round_trip()
    {
        foreach (var message in Samples.Extremes())
        {
            AssertRoundTrip(message);
        }
    }

    [Fact]
    public void Zero_values_and_empty_arrays_round_trip_to_shared_empty_arrays()
    {
        foreach (var message in Samples.Minimal())
        {
            var decoded = AssertRoundTrip(message);
            switch (decoded)
            {
                case Request m: Assert.Same(Array.Empty<byte>(), m.Operation); break;
                case Reply m: Assert.Same(Array.Empty<byte>(), m.Result); break;
                case Prepare m: Assert.Same(Array.Empty<LogEntry>(), m.Entries); break;
                case DoViewChange m: Assert.Same(Array.Empty<LogEntry>(), m.Entries); break;
                case StartView m: Assert.Same(Array.Empty<LogEntry>(), m.Entries); break;
                case RecoveryResponse m: Assert.Same(Array.Empty<LogEntry>(), m.Entries); break;
                case NewState m: Assert.Same(Array.Empty<LogEntry>(), m.Entries); break;
                case CheckpointChunk m: Assert.Same(Array.Empty<byte>(), m.Data); break;
                default: break;
            }
        }

        var entry = new LogEntry(new OpNumber(1), new View(1), EntryKind.Operation, new ClientId(7), 1, [], []);
        var prepare = (Prepare)AssertRoundTrip(new Prepare(OpNumber.Zero, [entry]) { Header = Samples.Header(new Prng(1)) });
        Assert.Same(Array.Empty<byte>(), prepare.Entries[0].Operation);
        Assert.Same(Array.Empty<byte>(), prepare.Entries[0].Prediction);
    }

    [Fact]
    public void Large_messages_round_trip()
    {
        var prng = new Prng(99);
        var header = Samples.Header(prng);
        var data = new byte[1 << 20];
        Samples.Fill(prng, data);
        AssertRoundTrip(new CheckpointChunk(new OpNumber(4096), 1UL << 40, 0xdead_beef, 1UL << 20, data) { Header = header });

        var entries = Enumerable.Range(1, 64)
            .Select(i => new LogEntry(new OpNumber((ulong)i), new View(3), EntryKind.Operation, new ClientId((UInt128)i), (ulong)i, Samples.Bytes(prng, 4096), Samples.Bytes(prng, 64)))
            .ToArray();
        AssertRoundTrip(new Prepare(new OpNumber(0), entries) { Header = header });
        AssertRoundTrip(new StartView(new OpNumber(64), new OpNumber(10), entries) { Header = header });
    }

    [Fact]
    public void The_header_is_laid_out_as_documented()
    {
        var message = new PrepareOk(new OpNumber(0x1122_3344_5566_7788))
        {
            Header = new MessageHeader(Samples.Cluster, 0xAABB_CCDD, new View(0x0102_0304_0506_0708), new ReplicaIndex(9)),
        };
        var frame = codec.Encode(message);

        Assert.Equal(WireLayout.HeaderSize + 8, frame.Length);
        Assert.Equal("VSR1"u8.ToArray(), frame[..4]);
        Assert.Equal(WireLayout.Magic, BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal((ushort)2, BinaryPrimitives.ReadUInt16LittleEndian(frame.AsSpan(WireLayout.VersionOffset)));
        Assert.Equal((byte)Command.PrepareOk, frame[WireLayout.CommandOffset]);
        Assert.Equal(9, frame[WireLayout.ReplicaOffset]);
        Assert.Equal(Samples.Cluster, BinaryPrimitives.ReadUInt128LittleEndian(frame.AsSpan(WireLayout.ClusterOffset)));
        Assert.Equal(0xAABB_CCDDu, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(WireLayout.EpochOffset)));
        Assert.Equal(0x0102_0304_0506_0708UL, BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(WireLayout.ViewOffset)));
        Assert.Equal(8u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(WireLayout.BodySizeOffset)));
        Assert.Equal(System.IO.Hashing.XxHash3.HashToUInt64(frame.AsSpan(WireLayout.HeaderSize)), BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(WireLayout.BodyChecksumOffset)));
        Assert.Equal(System.IO.Hashing.XxHash3.HashToUInt64(frame.AsSpan(0, 48)), BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(WireLayout.HeaderChecksumOffset)));
        Assert.Equal(0x1122_3344_5566_7788UL, BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(WireLayout.HeaderSize)));
    }

    [Fact]
    public void The_golden_frame_in_the_docs_is_what_the_codec_writes()
    {
        // The example frame of docs/wire-format.md: a change to the format must change the docs too.
        var message = new PrepareOk(new OpNumber(5)) { Header = new MessageHeader(1, 2, new View(3), new ReplicaIndex(4)) };
        var frame = new MessageCodec(1).Encode(message);
        Assert.Equal(GoldenPrepareOk, Convert.ToHexString(frame));
        Assert.True(MessageEquality.Equal(message, new MessageCodec(1).Decode(Convert.FromHexString(GoldenPrepareOk)).Message));
    }

    [Fact]
    public void A_body_layout_matches_the_docs()
    {
        // Request body: client u128, request number u64, kind u8, operation (u32 length + bytes).
        var message = new Request(new ClientId(new UInt128(2, 1)), 7, RequestKind.Operation, [0xAB, 0xCD]) { Header = Samples.Header(new Prng(3)) };
        var body = codec.Encode(message).AsSpan(WireLayout.HeaderSize);
        Assert.Equal(16 + 8 + 1 + 4 + 2, body.Length);
        Assert.Equal(new UInt128(2, 1), BinaryPrimitives.ReadUInt128LittleEndian(body));
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(body));
        Assert.Equal(7UL, BinaryPrimitives.ReadUInt64LittleEndian(body[16..]));
        Assert.Equal((byte)RequestKind.Operation, body[24]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(body[25..]));
        Assert.Equal([0xAB, 0xCD], body[29..].ToArray());

        // Prepare body: commit u64, count u32, then entries of op, view, kind, client, request number, operation, prediction, parent.
        var entry = new LogEntry(new OpNumber(6), new View(3), EntryKind.Register, new ClientId(9), 1, [1], [2, 3]) { Parent = 0x0102_0304_0506_0708 };
        var prepare = codec.Encode(new Prepare(new OpNumber(5), [entry]) { Header = Samples.Header(new Prng(4)) }).AsSpan(WireLayout.HeaderSize);
        Assert.Equal(8 + 4 + WireLayout.LogEntryMinSize + 3, prepare.Length);
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(prepare));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(prepare[8..]));
        Assert.Equal(6UL, BinaryPrimitives.ReadUInt64LittleEndian(prepare[12..]));
        Assert.Equal(3UL, BinaryPrimitives.ReadUInt64LittleEndian(prepare[20..]));
        Assert.Equal((byte)EntryKind.Register, prepare[28]);
        Assert.Equal((UInt128)9, BinaryPrimitives.ReadUInt128LittleEndian(prepare[29..]));
        Assert.Equal(1UL, BinaryPrimitives.ReadUInt64LittleEndian(prepare[45..]));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(prepare[53..]));
        Assert.Equal(1, prepare[57]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(prepare[58..]));
        Assert.Equal([2, 3], prepare[62..64].ToArray());
        Assert.Equal(0x0102_0304_0506_0708UL, BinaryPrimitives.ReadUInt64LittleEndian(prepare[64..]));
    }

    [Fact]
    public void The_header_cluster_is_written_as_is()
    {
        var other = new MessageCodec(42);
        var message = new Commit(new OpNumber(1), new OpNumber(2)) { Header = new MessageHeader(Samples.Cluster, 0, new View(1), new ReplicaIndex(0)) };
        var frame = other.Encode(message);
        Assert.Equal(Samples.Cluster, BinaryPrimitives.ReadUInt128LittleEndian(frame.AsSpan(WireLayout.ClusterOffset)));
        Assert.True(codec.Decode(frame).IsSuccess);
        Assert.Equal(DecodeError.WrongCluster, other.Decode(frame).Error);
    }

    [Fact]
    public void The_size_limit_applies_to_the_whole_frame()
    {
        var header = Samples.Header(new Prng(5));
        var small = new MessageCodec(Samples.Cluster, 1024);
        var fits = new CheckpointChunk(OpNumber.Zero, 0, 0, 0, new byte[1024 - WireLayout.HeaderSize - 36]) { Header = header };
        var tooBig = fits with { Data = new byte[fits.Data.Length + 1] };

        var frame = small.Encode(fits);
        Assert.Equal(1024, frame.Length);
        Assert.True(small.Decode(frame).IsSuccess);
        Assert.Throws<ArgumentException>(() => small.Encode(tooBig));
        Assert.Throws<ArgumentException>(() => small.GetEncodedLength(tooBig));

        // The default codec takes it, and the small one refuses its frame as too large.
        var bigFrame = codec.Encode(tooBig);
        Assert.Equal(DecodeError.TooLarge, small.Decode(bigFrame).Error);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(WireLayout.HeaderSize - 1)]
    [InlineData(WireLayout.MessageSizeMaxLimit + 1)]
    [InlineData(int.MaxValue)]
    [InlineData(-1)]
    public void The_size_limit_is_validated(int messageSizeMax) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageCodec(1, messageSizeMax));

    [Fact]
    public void The_size_limit_bounds_are_accepted()
    {
        Assert.Equal(WireLayout.HeaderSize, new MessageCodec(1, WireLayout.HeaderSize).MessageSizeMax);
        Assert.Equal(WireLayout.MessageSizeMaxLimit, new MessageCodec(1, WireLayout.MessageSizeMaxLimit).MessageSizeMax);
        Assert.Equal(16 * 1024 * 1024, new MessageCodec(1).MessageSizeMax);

        var headerOnly = new MessageCodec(1, WireLayout.HeaderSize);
        var frame = headerOnly.Encode(new StartViewChange { Header = new MessageHeader(1, 0, new View(2), new ReplicaIndex(1)) });
        Assert.True(headerOnly.Decode(frame).IsSuccess);
        Assert.Throws<ArgumentException>(() => headerOnly.Encode(new PrepareOk(OpNumber.Zero) { Header = new MessageHeader(1, 0, new View(2), new ReplicaIndex(1)) }));
    }

    [Fact]
    public void Encoding_refuses_what_decoding_would_refuse()
    {
        var header = Samples.Header(new Prng(6));
        var entry = new LogEntry(new OpNumber(1), new View(1), (EntryKind)9, new ClientId(1), 1, [], []);
        Assert.Throws<ArgumentException>(() => codec.Encode(new Request(new ClientId(1), 1, (RequestKind)0, []) { Header = header }));
        Assert.Throws<ArgumentException>(() => codec.Encode(new Reply(new ClientId(1), 1, (ReplyStatus)9, OpNumber.Zero, []) { Header = header }));
        Assert.Throws<ArgumentException>(() => codec.Encode(new Prepare(OpNumber.Zero, [entry]) { Header = header }));
        Assert.Throws<ArgumentException>(() => codec.Encode(new Request(new ClientId(1), 1, RequestKind.Operation, null!) { Header = header }));
        Assert.Throws<ArgumentException>(() => codec.Encode(new StartView(OpNumber.Zero, OpNumber.Zero, null!) { Header = header }));
        Assert.Throws<ArgumentException>(() => codec.Encode(new StartView(OpNumber.Zero, OpNumber.Zero, [null!]) { Header = header }));
        Assert.Throws<ArgumentException>(() => codec.Encode(new Prepare(OpNumber.Zero, [entry with { Kind = EntryKind.Operation, Prediction = null! }]) { Header = header }));
    }

    [Fact]
    public void Span_encoding_checks_the_destination_and_writes_only_the_frame()
    {
        var message = Samples.Random(new Prng(7), Command.Prepare);
        var expected = codec.Encode(message);
        var destination = new byte[expected.Length + 10];
        destination.AsSpan().Fill(0xEE);

        Assert.Equal(expected.Length, codec.Encode(message, destination.AsSpan()));
        Assert.Equal(expected, destination[..expected.Length]);
        Assert.All(destination[expected.Length..], b => Assert.Equal(0xEE, b));
        Assert.Throws<ArgumentException>(() => codec.Encode(message, new byte[expected.Length - 1].AsSpan()));
    }

    [Fact]
    public void Buffer_writer_encoding_appends_frames()
    {
        var prng = new Prng(8);
        var first = Samples.Random(prng, Command.DoViewChange);
        var second = Samples.Random(prng, Command.Reply);
        var output = new ArrayBufferWriter<byte>();
        var n1 = codec.Encode(first, output);
        var n2 = codec.Encode(second, output);

        var written = output.WrittenSpan;
        Assert.Equal(n1 + n2, written.Length);
        Assert.True(codec.TryReadFrameLength(written, out var length, out var error));
        Assert.Equal(DecodeError.None, error);
        Assert.Equal(n1, length);
        Assert.True(MessageEquality.Equal(first, codec.Decode(written[..n1]).Message));
        Assert.True(codec.TryReadFrameLength(written[n1..], out length, out _));
        Assert.Equal(n2, length);
        Assert.True(MessageEquality.Equal(second, codec.Decode(written[n1..]).Message));
    }

    [Fact]
    public void Frame_length_is_read_from_the_header_alone()
    {
        var frame = codec.Encode(Samples.Random(new Prng(9), Command.NewState, entriesMax: 8));
        Assert.True(codec.TryReadFrameLength(frame.AsSpan(0, WireLayout.HeaderSize), out var length, out var error));
        Assert.Equal(frame.Length, length);
        Assert.Equal(DecodeError.None, error);

        Assert.True(MessageCodec.TryReadFrameLength(frame, WireLayout.DefaultMessageSizeMax, out length, out error));
        Assert.Equal(frame.Length, length);
        Assert.Equal(DecodeError.None, error);

        for (var prefix = 0; prefix < WireLayout.HeaderSize; prefix++)
        {
            Assert.False(codec.TryReadFrameLength(frame.AsSpan(0, prefix), out length, out error));
            Assert.Equal(DecodeError.TooShort, error);
            Assert.Equal(0, length);
        }

        Assert.False(MessageCodec.TryReadFrameLength(frame, frame.Length - 1, out _, out error));
        Assert.Equal(DecodeError.TooLarge, error);

        // The static form does not know the cluster; the instance form refuses another cluster.
        var foreign = new MessageCodec(5);
        Assert.True(MessageCodec.TryReadFrameLength(frame, WireLayout.DefaultMessageSizeMax, out _, out _));
        Assert.False(foreign.TryReadFrameLength(frame, out _, out error));
        Assert.Equal(DecodeError.WrongCluster, error);
    }

    private Message AssertRoundTrip(Message message)
    {
        var frame = codec.Encode(message);
        Assert.Equal(codec.GetEncodedLength(message), frame.Length);

        var span = new byte[frame.Length];
        Assert.Equal(frame.Length, codec.Encode(message, span.AsSpan()));
        Assert.Equal(frame, span);

        var writer = new ArrayBufferWriter<byte>();
        Assert.Equal(frame.Length, codec.Encode(message, writer));
        Assert.Equal(frame, writer.WrittenSpan.ToArray());

        var result = codec.Decode(frame);
        Assert.True(result.IsSuccess, result.ErrorMessage);
        Assert.Equal(DecodeError.None, result.Error);
        Assert.True(MessageEquality.Equal(message, result.Message), $"{MessageEquality.Describe(message)} decoded as {MessageEquality.Describe(result.Message)}");
        Assert.Equal(message.GetType(), result.Message.GetType());
        Assert.Equal(MessageEquality.Describe(message), MessageEquality.Describe(result.Message));
        Assert.Equal(frame, codec.Encode(result.Message));
        return result.Message;
    }

    // PrepareOk op=5 from replica 4 in view 3, epoch 2, cluster 1; see docs/wire-format.md.
    private const string GoldenPrepareOk =
        "56535231" + "0200" + "04" + "04" + "01000000000000000000000000000000" + "02000000" + "0300000000000000"
        + "08000000" + "8CA7AA39AAE9038E" + "517DB5E80EA28FA8" + "0500000000000000";
}
