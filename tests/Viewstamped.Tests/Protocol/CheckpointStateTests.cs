using System.Buffers;
using System.IO.Hashing;

namespace Viewstamped.Tests.Protocol;

public sealed class CheckpointStateTests
{
    private static byte[] Pattern(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7 + (i >> 11))).ToArray();

    [Fact]
    public void The_writer_fills_chunks_in_turn_even_when_asked_for_more_than_a_chunk_has_left()
    {
        var bytes = Pattern((2 * CheckpointState.ChunkSize) + 12345);
        var writer = new MemoryCheckpointBuilder();
        writer.Write(bytes.AsSpan(0, CheckpointState.ChunkSize - 3));

        // 10 bytes do not fit the 3 left in the first chunk: the span spills into the second.
        var span = writer.GetSpan(10);
        Assert.True(span.Length >= 10);
        bytes.AsSpan(CheckpointState.ChunkSize - 3, 10).CopyTo(span);
        writer.Advance(10);
        writer.Write(bytes.AsSpan(CheckpointState.ChunkSize + 7));
        Assert.Equal(bytes.Length, writer.Length);

        var state = writer.Build();
        Assert.Equal(bytes.Length, state.Length);
        Assert.Equal(bytes, state.ToArray());
        Assert.Equal(new[] { CheckpointState.ChunkSize, CheckpointState.ChunkSize, 12345 }, state.Segments().Select(s => s.Length));
        Assert.Equal(bytes, state.ToSequence().ToArray());
        Assert.Equal(XxHash64.HashToUInt64(bytes), state.ComputeChecksum());

        var range = new byte[100];
        state.Read(CheckpointState.ChunkSize - 50, range);
        Assert.Equal(bytes.AsSpan(CheckpointState.ChunkSize - 50, 100).ToArray(), range);
        Assert.Throws<ArgumentOutOfRangeException>(() => state.Read(bytes.Length - 99, range));
        Assert.Throws<ArgumentOutOfRangeException>(() => state.Read(-1, range));
    }

    [Fact]
    public void A_small_state_grows_its_first_chunk_and_a_large_one_still_ends_in_full_chunks()
    {
        var bytes = Pattern((2 * CheckpointState.ChunkSize) + 777);
        var writer = new MemoryCheckpointBuilder();
        var written = 0;
        for (var piece = 1; written < bytes.Length; piece = (piece * 3 % 9001) + 1)
        {
            var n = Math.Min(piece, bytes.Length - written);
            var span = writer.GetSpan(n);
            Assert.True(span.Length >= n);
            bytes.AsSpan(written, n).CopyTo(span);
            writer.Advance(n);
            written += n;
            Assert.Equal(written, writer.Length);
        }

        var state = writer.Build();
        Assert.Equal(bytes, state.ToArray());
        Assert.Equal(new[] { CheckpointState.ChunkSize, CheckpointState.ChunkSize, 777 }, state.Segments().Select(s => s.Length));

        var small = new MemoryCheckpointBuilder();
        small.Write(bytes.AsSpan(0, 100));
        Assert.Equal(100, Assert.Single(small.Build().Segments()).Length);
    }

    [Fact]
    public void An_empty_state_and_one_of_exactly_a_chunk_have_no_spare_chunk()
    {
        Assert.Equal(0, new MemoryCheckpointBuilder().Build().Length);
        Assert.Empty(new MemoryCheckpointBuilder().Build().Segments());

        var writer = new MemoryCheckpointBuilder();
        writer.Write(Pattern(CheckpointState.ChunkSize));
        writer.GetSpan(1); // a span asked for but never used
        var state = writer.Build();
        Assert.Single(state.Segments());
        Assert.Equal(Pattern(CheckpointState.ChunkSize), state.ToArray());
    }

    [Fact]
    public void A_checkpoint_takes_a_durable_state_only_of_its_own_length()
    {
        var checkpoint = new Checkpoint(new OpNumber(3), [1, 2, 3], XxHash64.HashToUInt64([1, 2, 3]));
        Assert.Throws<ArgumentException>(() => checkpoint.ReplaceState(CheckpointState.FromBytes([1, 2])));
        var durable = CheckpointState.FromBytes([1, 2, 3]);
        checkpoint.ReplaceState(durable);
        Assert.Same(durable, checkpoint.State);
    }
}
