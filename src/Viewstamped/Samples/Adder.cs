using System.Buffers.Binary;

namespace Viewstamped.Samples;

/// <summary>
/// The seed's sample service: it keeps a running total, adds each request to it and replies with
/// the new total. It checkpoints its total, so the log can be compacted.
/// </summary>
public sealed class Adder : Service<int, int>, ICheckpointingService
{
    /// <summary>The running total.</summary>
    public int Total { get; private set; }

    /// <summary>Encodes a request for this service.</summary>
    public static byte[] Encode(int value) => BitConverter.GetBytes(value);

    /// <summary>Decodes a reply of this service.</summary>
    public static int Decode(ReadOnlySpan<byte> reply) => BinaryPrimitives.ReadInt32LittleEndian(reply);

    /// <inheritdoc />
    protected override int Execute(int request) => Total = unchecked(Total + request);

    /// <inheritdoc />
    protected override int ReadRequest(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadInt32LittleEndian(bytes);

    /// <inheritdoc />
    protected override byte[] WriteReply(int reply) => Encode(reply);

    /// <inheritdoc />
    public byte[] WriteCheckpoint() => Encode(Total);

    /// <inheritdoc />
    public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint) => Total = Decode(checkpoint);
}
