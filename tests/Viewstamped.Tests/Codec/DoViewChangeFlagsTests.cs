using Viewstamped.Codec;
using Viewstamped.Messages;

namespace Viewstamped.Tests.Codec;

/// <summary>
/// The DoViewChange flags byte (wire-format.md): written only when a flag is set, so a DoViewChange
/// with no flag is encoded exactly as before the byte existed, and old frames decode unchanged.
/// </summary>
public class DoViewChangeFlagsTests
{
    private static readonly MessageCodec Codec = new(Samples.Cluster);

    private static DoViewChange Sample(bool tailUncertain = false, bool logDamaged = false)
    {
        var message = (DoViewChange)Samples.Random(new Prng(3), Command.DoViewChange);
        return message with { TailUncertain = tailUncertain, LogDamaged = logDamaged };
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void Every_combination_of_flags_round_trips(bool tailUncertain, bool logDamaged)
    {
        var message = Sample(tailUncertain, logDamaged);
        var decoded = Assert.IsType<DoViewChange>(Codec.Decode(Codec.Encode(message)).Message);
        Assert.True(MessageEquality.Equal(message, decoded));
        Assert.Equal(tailUncertain, decoded.TailUncertain);
        Assert.Equal(logDamaged, decoded.LogDamaged);
    }

    [Fact]
    public void A_do_view_change_without_flags_has_no_flags_byte_so_frames_from_before_it_still_decode()
    {
        var certain = Codec.Encode(Sample());
        var uncertain = Codec.Encode(Sample(tailUncertain: true));
        Assert.Equal(certain.Length + 1, uncertain.Length);
        Assert.Equal(1, uncertain[^1]);
        Assert.Equal(certain[(WireLayout.HeaderSize + 1)..], uncertain[(WireLayout.HeaderSize + 1)..^1]);
        Assert.False(Assert.IsType<DoViewChange>(Codec.Decode(certain).Message).TailUncertain);
    }

    [Theory]
    [InlineData((byte)0)]
    [InlineData((byte)4)]
    [InlineData((byte)0x81)]
    public void A_flags_byte_of_zero_or_with_unknown_bits_is_malformed(byte flags)
    {
        var frame = Codec.Encode(Sample(tailUncertain: true));
        frame[^1] = flags;
        MessageCodec.Reseal(frame);
        Assert.Equal(DecodeError.MalformedBody, Codec.Decode(frame).Error);
    }

    [Fact]
    public void Equality_and_descriptions_tell_the_flags_apart()
    {
        Assert.False(MessageEquality.Equal(Sample(), Sample(tailUncertain: true)));
        Assert.False(MessageEquality.Equal(Sample(tailUncertain: true), Sample(logDamaged: true)));
        Assert.EndsWith(" tailUncertain logDamaged", MessageEquality.Describe(Sample(true, true)), StringComparison.Ordinal);
        Assert.DoesNotContain("tailUncertain", MessageEquality.Describe(Sample()), StringComparison.Ordinal);
    }
}
