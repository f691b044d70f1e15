using System.Buffers;

namespace Viewstamped.KeyValue;

/// <summary>Writes into an array sized in advance; asking for more room than is left is a bug.</summary>
internal sealed class FixedBufferWriter(byte[] buffer) : IBufferWriter<byte>
{
    private int written;

    public int Written => written;

    public void Advance(int count) => written += count;

    public Memory<byte> GetMemory(int sizeHint = 0) => buffer.AsMemory(written);

    public Span<byte> GetSpan(int sizeHint = 0) => buffer.AsSpan(written);
}
