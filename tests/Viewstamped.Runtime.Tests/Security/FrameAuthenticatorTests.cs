using System.Buffers.Binary;
using System.Security.Cryptography;
using Viewstamped.Runtime.Security;

namespace Viewstamped.Runtime.Tests.Security;

/// <summary>The per-frame tag is HMAC-SHA256(session key, sequence u64 LE || frame || extension), whatever the frame's size.</summary>
public class FrameAuthenticatorTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(64, 0)]
    [InlineData(64, 26)]
    [InlineData(2041, 26)]
    [InlineData(100_000, 26)]
    public void Tags_are_the_HMAC_of_the_sequence_number_the_frame_and_the_extension(int frameSize, int extensionSize)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var signer = new FrameAuthenticator(key);
        using var verifier = new FrameAuthenticator(key);
        for (ulong sequence = 0; sequence < 3; sequence++)
        {
            var frame = RandomNumberGenerator.GetBytes(frameSize);
            var extension = RandomNumberGenerator.GetBytes(extensionSize);
            var tag = new byte[FrameAuthenticator.TagSize];
            signer.Sign(frame, extension, tag);

            var message = new byte[8 + frameSize + extensionSize];
            BinaryPrimitives.WriteUInt64LittleEndian(message, sequence);
            frame.CopyTo(message, 8);
            extension.CopyTo(message, 8 + frameSize);
            Assert.Equal(HMACSHA256.HashData(key, message), tag);
            Assert.True(verifier.Verify(frame, extension, tag));
        }
    }

    [Fact]
    public void A_replayed_or_altered_frame_fails_verification()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var signer = new FrameAuthenticator(key);
        using var verifier = new FrameAuthenticator(key);
        var frame = RandomNumberGenerator.GetBytes(64);
        var tag = new byte[FrameAuthenticator.TagSize];
        signer.Sign(frame, [], tag);
        Assert.True(verifier.Verify(frame, [], tag));
        Assert.False(verifier.Verify(frame, [], tag)); // the same frame again: the sequence moved on

        using var otherSigner = new FrameAuthenticator(key);
        using var otherVerifier = new FrameAuthenticator(key);
        otherSigner.Sign(frame, [], tag);
        frame[10] ^= 1;
        Assert.False(otherVerifier.Verify(frame, [], tag));
    }
}
