using System.Buffers.Binary;
using Viewstamped.Codec;
using Viewstamped.Messages;

namespace Viewstamped.Tests.Codec;

public class CodecRejectionTests
{
    private readonly MessageCodec codec = new(Samples.Cluster);

    [Fact]
    public void Empty_and_short_inputs_are_too_short()
    {
        Assert.Equal(DecodeError.TooShort, codec.Decode([]).Error);
        Assert.Equal(DecodeError.TooShort, codec.Decode(default).Error);
        Assert.Equal(DecodeError.TooShort, codec.Decode("VSR1"u8).Error);
    }

    [Fact]
    public void A_wrong_cluster_is_refused()
    {
        var message = Samples.Random(new Prng(1), Command.Prepare);
        var foreign = message with { Header = message.Header with { Cluster = Samples.Cluster + 1 } };
        AssertRejected(codec.Encode(foreign), DecodeError.WrongCluster);
        Assert.True(new MessageCodec(Samples.Cluster + 1).Decode(codec.Encode(foreign)).IsSuccess);
    }

    [Theory]
    [InlineData((ushort)0)]
    [InlineData((ushort)1)]
    [InlineData((ushort)0x0100)]
    [InlineData(ushort.MaxValue)]
    public void Another_version_is_refused_even_with_valid_checksums(ushort version)
    {
        var frame = Frame(Command.Commit);
        BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(WireLayout.VersionOffset), version);
        AssertRejected(frame, DecodeError.UnsupportedVersion);
        MessageCodec.Reseal(frame);
        AssertRejected(frame, DecodeError.UnsupportedVersion);
    }

    [Fact]
    public void A_bad_magic_is_refused()
    {
        var frame = Frame(Command.Commit);
        "VSR2"u8.CopyTo(frame);
        MessageCodec.Reseal(frame);
        AssertRejected(frame, DecodeError.BadMagic);

        var reversed = Frame(Command.Commit);
        "1RSV"u8.CopyTo(reversed);
        AssertRejected(reversed, DecodeError.BadMagic);
    }

    [Fact]
    public void Every_flipped_header_bit_is_detected()
    {
        var original = Frame(Command.RecoveryResponse);
        for (var bit = 0; bit < WireLayout.HeaderSize * 8; bit++)
        {
            var frame = (byte[])original.Clone();
            frame[bit / 8] ^= (byte)(1 << (bit % 8));
            var expected = (bit / 8) switch
            {
                < WireLayout.VersionOffset => DecodeError.BadMagic,
                < WireLayout.CommandOffset => DecodeError.UnsupportedVersion,
                _ => DecodeError.HeaderChecksumMismatch,
            };
            AssertRejected(frame, expected);
        }
    }

    [Fact]
    public void Every_flipped_body_bit_is_detected()
    {
        var original = Frame(Command.NewState);
        Assert.True(original.Length > WireLayout.HeaderSize + 40);
        for (var bit = WireLayout.HeaderSize * 8; bit < original.Length * 8; bit++)
        {
            var frame = (byte[])original.Clone();
            frame[bit / 8] ^= (byte)(1 << (bit % 8));
            AssertRejected(frame, DecodeError.BodyChecksumMismatch);
        }
    }

    [Fact]
    public void Every_truncation_is_too_short()
    {
        var frame = Frame(Command.DoViewChange);
        for (var length = 0; length < frame.Length; length++)
        {
            AssertRejected(frame.AsSpan(0, length), DecodeError.TooShort);
        }
    }

    [Fact]
    public void Every_truncated_body_with_a_matching_header_is_malformed()
    {
        // Re-sealed with the shorter body size, the body parser itself must notice the missing fields.
        foreach (var message in Samples.Extremes())
        {
            var frame = codec.Encode(message);
            for (var length = WireLayout.HeaderSize; length < frame.Length; length++)
            {
                var cut = frame[..length];
                MessageCodec.Reseal(cut);
                AssertRejected(cut, DecodeError.MalformedBody);
            }
        }
    }

    [Fact]
    public void Bytes_after_the_frame_are_trailing()
    {
        var frame = Frame(Command.Request);
        AssertRejected([.. frame, 0], DecodeError.TrailingBytes);
        AssertRejected([.. frame, .. frame], DecodeError.TrailingBytes);
    }

    [Fact]
    public void Bytes_after_the_last_field_are_trailing_even_when_sealed()
    {
        var flagged = new DoViewChange(new View(1), new OpNumber(1), OpNumber.Zero, []) { Header = Samples.Header(new Prng(2)), TailUncertain = true };
        foreach (var message in Samples.Extremes().Concat(Samples.Minimal()).Append(flagged))
        {
            byte[] frame = [.. codec.Encode(message), 0];
            MessageCodec.Reseal(frame);

            // A DoViewChange without flags ends in an optional flags byte, which is never 0.
            AssertRejected(frame, message is DoViewChange { TailUncertain: false, LogDamaged: false } ? DecodeError.MalformedBody : DecodeError.TrailingBytes);
        }
    }

    [Theory]
    [InlineData(WireLayout.DefaultMessageSizeMax - WireLayout.HeaderSize + 1)]
    [InlineData(int.MaxValue)]
    [InlineData(uint.MaxValue)]
    public void An_oversized_body_size_is_refused_before_buffering(uint bodySize)
    {
        var frame = Frame(Command.PrepareOk);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(WireLayout.BodySizeOffset), bodySize);
        MessageCodec.Reseal(frame, updateBodySize: false);
        AssertRejected(frame, DecodeError.TooLarge);
        Assert.False(codec.TryReadFrameLength(frame, out var length, out var error));
        Assert.Equal(DecodeError.TooLarge, error);
        Assert.Equal(0, length);
    }

    [Fact]
    public void The_largest_allowed_body_size_is_not_too_large()
    {
        var frame = Frame(Command.PrepareOk);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(WireLayout.BodySizeOffset), WireLayout.DefaultMessageSizeMax - WireLayout.HeaderSize);
        MessageCodec.Reseal(frame, updateBodySize: false);
        Assert.True(codec.TryReadFrameLength(frame, out var length, out _));
        Assert.Equal(WireLayout.DefaultMessageSizeMax, length);
        AssertRejected(frame, DecodeError.TooShort);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(17)]
    [InlineData(18)]
    [InlineData(128)]
    [InlineData(255)]
    public void An_unknown_command_is_refused(byte command)
    {
        var frame = Frame(Command.PrepareOk);
        frame[WireLayout.CommandOffset] = command;
        MessageCodec.Reseal(frame);
        AssertRejected(frame, DecodeError.UnknownCommand);
        Assert.False(codec.TryReadFrameLength(frame, out _, out var error));
        Assert.Equal(DecodeError.UnknownCommand, error);
    }

    [Fact]
    public void A_body_of_another_command_is_malformed_or_trailing()
    {
        // The body checksum matches, but the command says the body is a different message.
        var frame = Frame(Command.Commit); // 16 bytes of body
        frame[WireLayout.CommandOffset] = (byte)Command.PrepareOk; // expects 8
        MessageCodec.Reseal(frame);
        AssertRejected(frame, DecodeError.TrailingBytes);
        frame[WireLayout.CommandOffset] = (byte)Command.Recovery; // expects 16: decodes, as a Recovery
        MessageCodec.Reseal(frame);
        Assert.IsType<Recovery>(codec.Decode(frame).Message);
        frame[WireLayout.CommandOffset] = (byte)Command.Request; // expects at least 29
        MessageCodec.Reseal(frame);
        AssertRejected(frame, DecodeError.MalformedBody);
    }

    [Theory]
    [InlineData((byte)0)]
    [InlineData((byte)3)]
    [InlineData((byte)255)]
    public void An_unknown_request_kind_is_malformed(byte kind)
    {
        var frame = codec.Encode(new Request(new ClientId(1), 2, RequestKind.Operation, [1, 2, 3]) { Header = Samples.Header(new Prng(2)) });
        const int kindOffset = WireLayout.HeaderSize + 16 + 8;
        Assert.Equal((byte)RequestKind.Operation, frame[kindOffset]);
        frame[kindOffset] = kind;
        MessageCodec.Reseal(frame);
        var result = AssertRejected(frame, DecodeError.MalformedBody);
        Assert.Equal(kindOffset, result.Offset);
    }

    [Theory]
    [InlineData((byte)9)]
    [InlineData((byte)200)]
    public void An_unknown_reply_status_is_malformed(byte status)
    {
        var frame = codec.Encode(new Reply(new ClientId(1), 2, ReplyStatus.TooLarge, new OpNumber(3), []) { Header = Samples.Header(new Prng(3)) });
        const int statusOffset = WireLayout.HeaderSize + 16 + 8;
        Assert.Equal((byte)ReplyStatus.TooLarge, frame[statusOffset]);
        frame[statusOffset] = status;
        MessageCodec.Reseal(frame);
        var result = AssertRejected(frame, DecodeError.MalformedBody);
        Assert.Equal(statusOffset, result.Offset);
    }

    [Theory]
    [InlineData((byte)0)]
    [InlineData((byte)3)]
    [InlineData((byte)255)]
    public void An_unknown_entry_kind_is_malformed(byte kind)
    {
        var entry = new LogEntry(new OpNumber(6), new View(2), EntryKind.Operation, new ClientId(1), 1, [1], []);
        var frame = codec.Encode(new Prepare(new OpNumber(5), [entry, entry with { Op = new OpNumber(7) }]) { Header = Samples.Header(new Prng(4)) });
        var secondKind = WireLayout.HeaderSize + 8 + 4 + (WireLayout.LogEntryMinSize + 1) + 16;
        Assert.Equal((byte)EntryKind.Operation, frame[secondKind]);
        frame[secondKind] = kind;
        MessageCodec.Reseal(frame);
        var result = AssertRejected(frame, DecodeError.MalformedBody);
        Assert.Equal(secondKind, result.Offset);
    }

    [Theory]
    [InlineData(0x8000_0000u)]
    [InlineData(uint.MaxValue)]
    [InlineData(0x7FFF_FFFFu)]
    [InlineData(2u)] // one more than the body holds
    public void An_entry_count_larger_than_the_body_is_refused_without_allocating(uint count)
    {
        var entry = new LogEntry(new OpNumber(6), new View(2), EntryKind.Operation, new ClientId(1), 1, [], []);
        var frame = codec.Encode(new Prepare(new OpNumber(5), [entry]) { Header = Samples.Header(new Prng(5)) });
        const int countOffset = WireLayout.HeaderSize + 8;
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(countOffset)));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(countOffset), count);
        MessageCodec.Reseal(frame);

        var result = AssertRejectedWithoutAllocating(frame, DecodeError.MalformedBody);
        Assert.Equal(countOffset, result.Offset);
    }

    [Theory]
    [InlineData(0x8000_0000u)]
    [InlineData(uint.MaxValue)]
    [InlineData(4u)] // one more than the body holds
    public void A_byte_string_length_larger_than_the_body_is_refused_without_allocating(uint length)
    {
        var frame = codec.Encode(new CheckpointChunk(new OpNumber(1), 2, 3, 4, [1, 2, 3]) { Header = Samples.Header(new Prng(6)) });
        const int lengthOffset = WireLayout.HeaderSize + 32;
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(lengthOffset)));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(lengthOffset), length);
        MessageCodec.Reseal(frame);

        var result = AssertRejectedWithoutAllocating(frame, DecodeError.MalformedBody);
        Assert.Equal(lengthOffset, result.Offset);
    }

    [Fact]
    public void A_huge_count_in_a_nested_entry_is_refused_without_allocating()
    {
        var entry = new LogEntry(new OpNumber(6), new View(2), EntryKind.Operation, new ClientId(1), 1, [9, 9], []);
        var frame = codec.Encode(new StartView(new OpNumber(6), new OpNumber(5), [entry]) { Header = Samples.Header(new Prng(7)) });
        var operationLength = WireLayout.HeaderSize + 16 + 4 + 8 + 8 + 1 + 16 + 8;
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(operationLength)));
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(operationLength), 0x8000_0000u);
        MessageCodec.Reseal(frame);

        // Only the one-slot entry array the count allowed is allocated before the length is refused.
        AssertRejectedWithoutAllocating(frame, DecodeError.MalformedBody, allowed: 32);
    }

    [Fact]
    public void A_rejection_carries_no_message_and_explains_itself()
    {
        var result = codec.Decode("not a frame at all, but long enough to hold a header......"u8);
        Assert.False(result.IsSuccess);
        Assert.Null(result.Message);
        Assert.Equal(DecodeError.BadMagic, result.Error);
        Assert.Equal(0, result.Offset);
        Assert.Contains("magic", result.Reason, StringComparison.Ordinal);
        Assert.StartsWith("BadMagic at byte 0: ", result.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(result.ErrorMessage, result.ToString());

        var ok = codec.Decode(Frame(Command.GetState));
        Assert.True(ok.IsSuccess);
        Assert.Equal(string.Empty, ok.Reason);
        Assert.Equal(MessageEquality.Describe(ok.Message), ok.ToString());
    }

    private byte[] Frame(Command command) => codec.Encode(Samples.Random(new Prng((ulong)command), command, entriesMax: 3));

    private DecodeResult AssertRejected(ReadOnlySpan<byte> frame, DecodeError expected)
    {
        var result = codec.Decode(frame);
        Assert.False(result.IsSuccess);
        Assert.Null(result.Message);
        Assert.True(expected == result.Error, $"expected {expected}, got {result.ErrorMessage}");
        Assert.InRange(result.Offset, 0, frame.Length);
        Assert.False(string.IsNullOrEmpty(result.Reason));
        return result;
    }

    private DecodeResult AssertRejectedWithoutAllocating(byte[] frame, DecodeError expected, long allowed = 0)
    {
        AssertRejected(frame, expected); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var result = codec.Decode(frame);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(expected, result.Error);
        Assert.InRange(allocated, 0, allowed);
        return result;
    }
}
