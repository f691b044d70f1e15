using System.Buffers.Binary;
using System.Diagnostics;
using Viewstamped.Codec;
using Viewstamped.Messages;
using Xunit.Abstractions;

namespace Viewstamped.Tests.Codec;

/// <summary>
/// Feeds the decoder random bytes and mutated frames. Decode must never throw, must allocate in
/// proportion to the frame only, must accept a frame only if re-encoding the message gives back the
/// very same bytes, and must leave the codec able to decode valid frames afterwards.
/// </summary>
public class CodecFuzzTests(ITestOutputHelper output)
{
    private const int Iterations = 100_000;

    // Decoding allocates the message objects and arrays, each at most a small constant factor of
    // the bytes they came from, plus a fixed overhead; never anything sized by a field's value.
    private const int AllocationFactor = 4;
    private const int AllocationSlack = 512;

    private static readonly uint[] InterestingU32 = [0, 1, 2, 3, 48, 49, 50, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF];

    private readonly MessageCodec codec = new(Samples.Cluster, 1 << 16);

    [Fact]
    public void Random_byte_strings_never_throw()
    {
        var prng = new Prng(0xF022_0001);
        var stats = new Stats();
        var watch = Stopwatch.StartNew();
        var buffer = new byte[400];
        for (var i = 0; i < Iterations; i++)
        {
            var frame = buffer.AsSpan(0, (int)prng.Below((ulong)buffer.Length + 1));
            Samples.Fill(prng, frame);

            // Pure noise stops at the magic; give most inputs a plausible header so that the later
            // checks and the body parser are reached as well.
            if (frame.Length >= WireLayout.HeaderSize && !prng.Chance(0.2))
            {
                BinaryPrimitives.WriteUInt32LittleEndian(frame, WireLayout.Magic);
                BinaryPrimitives.WriteUInt16LittleEndian(frame[WireLayout.VersionOffset..], WireLayout.Version);
                frame[WireLayout.CommandOffset] = (byte)prng.Between(0, 16);
                if (prng.Chance(0.9))
                {
                    BinaryPrimitives.WriteUInt128LittleEndian(frame[WireLayout.ClusterOffset..], Samples.Cluster);
                }

                if (prng.Chance(0.8))
                {
                    MessageCodec.Reseal(frame, updateBodySize: prng.Chance(0.9));
                }
            }

            stats.Add(Check(frame, i, mustFail: false));
        }

        Report("random", stats, watch.Elapsed);
        Assert.True(stats.Counts[DecodeError.BadMagic] > 0);
        Assert.True(stats.Counts[DecodeError.TooShort] > 0);
        Assert.True(stats.Counts[DecodeError.MalformedBody] > 1000, "the body parser was barely reached");
        Assert.True(stats.Counts[DecodeError.None] > 0, "no random frame decoded");
        AssertStillWorks();
    }

    [Fact]
    public void Mutated_frames_never_throw()
    {
        var prng = new Prng(0xF022_0002);
        var stats = new Stats();
        var resealed = 0;
        var watch = Stopwatch.StartNew();
        var originals = Enumerable.Range(0, 512)
            .Select(i => codec.Encode(Samples.Random(prng, Samples.Commands[i % Samples.Commands.Length], entriesMax: 3, bytesMax: 12)))
            .ToArray();
        var buffer = new byte[1 << 12];
        for (var i = 0; i < Iterations; i++)
        {
            var original = originals[prng.Below((ulong)originals.Length)];
            original.CopyTo(buffer, 0);
            var length = original.Length;
            var mutations = prng.Between(1, 4);
            for (var m = 0; m < mutations; m++)
            {
                length = Mutate(prng, buffer, length);
            }

            var frame = buffer.AsSpan(0, length);
            var seal = length >= WireLayout.HeaderSize && prng.Chance(0.5);
            if (seal)
            {
                MessageCodec.Reseal(frame, updateBodySize: prng.Chance(0.95));
                resealed++;
            }

            // Without re-sealing, any change to the bytes must be caught.
            var changed = !frame.SequenceEqual(original);
            stats.Add(Check(frame, i, mustFail: changed && !seal));
        }

        Report($"mutated ({resealed} re-sealed)", stats, watch.Elapsed);
        Assert.True(stats.Counts[DecodeError.MalformedBody] > 1000, "the body parser was barely reached");
        Assert.True(stats.Counts[DecodeError.TrailingBytes] > 100);
        Assert.True(stats.Counts[DecodeError.BodyChecksumMismatch] > 1000);
        Assert.True(stats.Counts[DecodeError.HeaderChecksumMismatch] > 1000);
        Assert.True(stats.Counts[DecodeError.None] > 1000, "re-sealed mutations of fields should often still decode");
        AssertStillWorks();
    }

    [Fact]
    public void Mutated_frames_are_also_safe_for_the_frame_length_reader()
    {
        var prng = new Prng(0xF022_0003);
        var buffer = new byte[1 << 12];
        var frame = codec.Encode(Samples.Random(prng, Command.Prepare, entriesMax: 4));
        for (var i = 0; i < 20_000; i++)
        {
            frame.CopyTo(buffer, 0);
            var length = Mutate(prng, buffer, frame.Length);
            if (length >= WireLayout.HeaderSize && prng.Chance(0.5))
            {
                MessageCodec.Reseal(buffer.AsSpan(0, length), updateBodySize: false);
            }

            var span = buffer.AsSpan(0, length);
            var ok = codec.TryReadFrameLength(span, out var total, out var error);
            Assert.Equal(ok, error == DecodeError.None);
            if (ok)
            {
                Assert.InRange(total, WireLayout.HeaderSize, codec.MessageSizeMax);
                Assert.Equal(WireLayout.HeaderSize + (int)BinaryPrimitives.ReadUInt32LittleEndian(span[WireLayout.BodySizeOffset..]), total);
            }
            else
            {
                Assert.Equal(0, total);
                Assert.Equal(error, codec.Decode(span).Error);
            }
        }
    }

    // One random change: bit flip, byte change, interesting u32, truncation, extension, insertion,
    // deletion or copying a slice of the frame onto another place. Returns the new length.
    private static int Mutate(Prng prng, byte[] buffer, int length)
    {
        switch (prng.Below(9))
        {
            case 0 when length > 0:
                buffer[prng.Below((ulong)length)] ^= (byte)(1 << prng.Between(0, 7));
                return length;
            case 1 when length > 0:
                buffer[prng.Below((ulong)length)] = (byte)prng.NextUInt64();
                return length;
            case 2 when length >= 4:
                // Aim at the body most of the time: that is where the lengths and counts are.
                var at = length > WireLayout.HeaderSize + 4 && prng.Chance(0.8)
                    ? prng.Between(WireLayout.HeaderSize, length - 4)
                    : prng.Between(0, length - 4);
                BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), InterestingU32[prng.Below((ulong)InterestingU32.Length)]);
                return length;
            case 3:
                return (int)prng.Below((ulong)length + 1);
            case 4:
                var grown = Math.Min(buffer.Length, length + prng.Between(1, 64));
                Samples.Fill(prng, buffer.AsSpan(length, grown - length));
                return grown;
            case 5 when length < buffer.Length:
                var insertAt = prng.Between(0, length);
                buffer.AsSpan(insertAt, length - insertAt).CopyTo(buffer.AsSpan(insertAt + 1));
                buffer[insertAt] = (byte)prng.NextUInt64();
                return length + 1;
            case 6 when length > 0:
                var removeAt = prng.Between(0, length - 1);
                buffer.AsSpan(removeAt + 1, length - removeAt - 1).CopyTo(buffer.AsSpan(removeAt));
                return length - 1;
            case 7 when length > 8:
                var from = prng.Between(0, length - 8);
                var to = prng.Between(0, length - 8);
                buffer.AsSpan(from, 8).CopyTo(buffer.AsSpan(to));
                return length;
            case 8 when length > WireLayout.HeaderSize:
                // A byte of the body set to a small value: an enum or the low byte of a length.
                buffer[prng.Between(WireLayout.HeaderSize, length - 1)] = (byte)prng.Between(0, 10);
                return length;
            default:
                return length;
        }
    }

    private DecodeError Check(ReadOnlySpan<byte> frame, int iteration, bool mustFail)
    {
        DecodeResult result;
        long allocated;
        try
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            result = codec.Decode(frame);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated > (AllocationFactor * (long)frame.Length) + AllocationSlack)
            {
                // The runtime itself may allocate on this thread (tiered JIT, first-use statics):
                // measure the same decode again, which allocates exactly what decoding needs.
                before = GC.GetAllocatedBytesForCurrentThread();
                codec.Decode(frame);
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            }
        }
        catch (Exception e)
        {
            Assert.Fail($"Decode threw on iteration {iteration}, input {Convert.ToHexString(frame)}: {e}");
            throw;
        }

        Assert.True(
            allocated <= (AllocationFactor * (long)frame.Length) + AllocationSlack,
            $"iteration {iteration}: decoding {frame.Length} bytes allocated {allocated}");
        Assert.True(result.IsSuccess == (result.Error == DecodeError.None), $"iteration {iteration}: inconsistent result");
        if (result.IsSuccess)
        {
            Assert.False(mustFail, $"iteration {iteration}: a changed frame decoded without re-sealing: {Convert.ToHexString(frame)}");

            // The encoding is canonical: whatever decodes re-encodes to the very same bytes.
            Assert.True(frame.SequenceEqual(codec.Encode(result.Message)), $"iteration {iteration}: {Convert.ToHexString(frame)} decoded to {result} but re-encodes differently");
        }
        else
        {
            Assert.Null(result.Message);
            Assert.InRange(result.Offset, 0, frame.Length);
        }

        return result.Error;
    }

    private void AssertStillWorks()
    {
        foreach (var message in Samples.Extremes())
        {
            var result = codec.Decode(codec.Encode(message));
            Assert.True(result.IsSuccess, result.ErrorMessage);
            Assert.True(MessageEquality.Equal(message, result.Message));
        }

        Assert.Equal(Samples.Cluster, codec.Cluster);
        Assert.Equal(1 << 16, codec.MessageSizeMax);
    }

    private void Report(string name, Stats stats, TimeSpan elapsed)
    {
        var perSecond = Iterations / Math.Max(elapsed.TotalSeconds, 1e-9);
        output.WriteLine($"{name}: {Iterations} inputs in {elapsed.TotalMilliseconds:F0} ms ({perSecond:F0}/s)");
        foreach (var (error, count) in stats.Counts.OrderBy(p => p.Key))
        {
            output.WriteLine($"  {error}: {count}");
        }
    }

    private sealed class Stats
    {
        public Dictionary<DecodeError, int> Counts { get; } = Enum.GetValues<DecodeError>().ToDictionary(e => e, _ => 0);

        public void Add(DecodeError error) => Counts[error]++;
    }
}
