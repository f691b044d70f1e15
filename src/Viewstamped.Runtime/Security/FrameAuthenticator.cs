using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Viewstamped.Runtime.Security;

/// <summary>
/// Authenticates the frames of one direction of one connection: the tag of a frame is
/// HMAC-SHA256(session key, sequence number as u64 little-endian || frame || extension), where the
/// extension is the frame's trace context when the connection carries one (else nothing), and the session key
/// is derived in the handshake for that direction and the sequence number counts frames from 0.
/// A replayed, reordered, reflected or altered frame fails verification. Not thread-safe: one
/// writer or one reader owns each instance.
/// </summary>
internal sealed class FrameAuthenticator : IDisposable
{
    /// <summary>The tag's length in bytes, appended after every frame.</summary>
    public const int TagSize = 32;

    private readonly IncrementalHash hmac;
    private ulong sequence;

    public FrameAuthenticator(ReadOnlySpan<byte> sessionKey) =>
        hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, sessionKey);

    /// <summary>Writes the tag of the next frame into <paramref name="tag"/> (<see cref="TagSize"/> bytes).</summary>
    public void Sign(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> extension, Span<byte> tag) => Compute(frame, extension, tag);

    /// <summary>True when <paramref name="tag"/> is the tag of the next frame.</summary>
    public bool Verify(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> extension, ReadOnlySpan<byte> tag)
    {
        Span<byte> expected = stackalloc byte[TagSize];
        Compute(frame, extension, expected);
        return CryptographicOperations.FixedTimeEquals(expected, tag);
    }

    public void Dispose() => hmac.Dispose();

    private void Compute(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> extension, Span<byte> tag)
    {
        Span<byte> counter = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(counter, sequence++);
        hmac.AppendData(counter);
        hmac.AppendData(frame);
        hmac.AppendData(extension);
        hmac.GetHashAndReset(tag);
    }
}
