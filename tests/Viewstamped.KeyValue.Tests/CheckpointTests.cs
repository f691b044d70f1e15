using static Viewstamped.KeyValue.Tests.Text;

namespace Viewstamped.KeyValue.Tests;

public sealed class CheckpointTests
{
    [Fact]
    public void Golden_bytes()
    {
        var kv = new Kv(clock: 0x0102);
        kv.Run("SET b 2");
        kv.Run("SET a 1 PX 16");
        Assert.Equal(
            new byte[]
            {
                (byte)'V', (byte)'K', (byte)'V', (byte)'1', 0x02, 0x01, 0, 0, 0, 0, 0, 0, 2,
                1, 0x12, 0x01, 0, 0, 0, 0, 0, 0, 1, 1, (byte)'a', (byte)'1',
                0, 1, 1, (byte)'b', (byte)'2',
            },
            kv.Service.WriteCheckpoint());
    }

    [Fact]
    public void Written_and_restored_in_small_pieces_it_is_the_same_bytes()
    {
        var kv = new Kv();
        kv.Run("MSET b 2 a 1");
        kv.Run("SET c 3 PX 500");
        kv.Run($"SET long {new string('x', 300)}");
        var expected = kv.Service.WriteCheckpoint();

        // A writer that never gives more than asked for: every key and value crosses a boundary.
        var pieces = new StingyWriter();
        kv.Service.WriteCheckpoint(pieces);
        Assert.Equal(expected, pieces.Written.ToArray());

        // Restored from 3-byte segments, every length and entry spans segments.
        var copy = new Kv();
        copy.Service.RestoreCheckpoint(Segmented(expected, 3));
        Assert.Equal(expected, copy.Service.WriteCheckpoint());
        Assert.Equal(Bulk("1"), copy.Run("GET a"));
        Assert.Equal(Int(300), copy.Run("STRLEN long"));
    }

    [Fact]
    public void A_damaged_checkpoint_in_pieces_is_refused()
    {
        var kv = new Kv();
        kv.Run("MSET b 2 a 1");
        var checkpoint = kv.Service.WriteCheckpoint();
        var copy = new Kv();
        copy.Run("SET kept 1");
        Assert.Throws<InvalidDataException>(() => copy.Service.RestoreCheckpoint(Segmented(checkpoint[..^1], 2)));
        Assert.Throws<InvalidDataException>(() => copy.Service.RestoreCheckpoint(Segmented([.. checkpoint, 0], 2)));
        Assert.Equal(Bulk("1"), copy.Run("GET kept"));
    }

    [Fact]
    public void Equal_states_reached_differently_give_equal_bytes()
    {
        var one = new Kv();
        var two = new Kv();
        for (var i = 0; i < 200; i++)
        {
            one.Run($"SET k{i} v{i} PX {1000 + i}");
        }

        for (var i = 199; i >= 0; i--)
        {
            two.Run($"SET k{i} x");
            two.Run($"APPEND k{i} y");
        }

        for (var i = 0; i < 200; i++)
        {
            two.Run($"SET k{i} v{i}");
            two.Run($"PEXPIRE k{i} {1000 + i}");
            two.Run($"SET junk{i} z EX 1");
        }

        two.Run("DEL " + string.Join(' ', Enumerable.Range(0, 200).Select(i => $"junk{i}")));
        one.Run("GET x");
        Assert.Equal(one.Service.WriteCheckpoint(), two.Service.WriteCheckpoint());
    }

    [Fact]
    public void Expired_keys_are_left_out_whether_or_not_they_are_still_held()
    {
        var one = new Kv();
        var two = new Kv();
        foreach (var kv in new[] { one, two })
        {
            kv.Run("SET live v");
            for (var i = 0; i < 100; i++)
            {
                kv.Run($"SET gone{i} v PX 5");
            }

            kv.Clock += 10;
        }

        one.Run("DBSIZE"); // removes every expired key
        two.Run("GET live"); // removes 20 of them
        Assert.NotEqual(one.Service.Count, two.Service.Count);
        Assert.Equal(one.Service.WriteCheckpoint(), two.Service.WriteCheckpoint());
    }

    [Fact]
    public void Restore_round_trips_values_expiries_and_time()
    {
        var kv = new Kv(clock: 7_000);
        kv.Run("SET a 1 EX 100");
        kv.Run("SET b 2");
        kv.Do("SET", "bin", "\0\r\n");
        kv.Run("INCR n");
        var checkpoint = kv.Service.WriteCheckpoint();

        var copy = new Kv(clock: 1); // a backup whose clock is far behind
        copy.Service.RestoreCheckpoint(checkpoint);
        Assert.Equal(checkpoint, copy.Service.WriteCheckpoint());
        Assert.Equal(7_000, copy.Service.Now);
        Assert.Equal(4, copy.Service.Count);
        Assert.Equal(1, copy.Service.ExpiringCount);
        Assert.Equal(Int(100_000), copy.Run("PTTL a"));
        Assert.Equal(Bulk("2"), copy.Run("GET b"));
        Assert.Equal(Bulk("\0\r\n"), copy.Do("GET", "bin"));
        Assert.Equal(Int(2), copy.Run("INCR n"));

        // Restoring replaces everything held before.
        var empty = new Kv(clock: 3);
        empty.Run("GET x");
        copy.Service.RestoreCheckpoint(empty.Service.WriteCheckpoint());
        Assert.Equal(0, copy.Service.Count);
        Assert.Equal(3, copy.Service.Now);
    }

    [Fact]
    public void A_restored_replica_answers_exactly_like_the_original_afterwards()
    {
        // Random operations; halfway, a copy is made from a checkpoint; both then get the same operations.
        var random = new Random(12345);
        var original = new Kv(clock: 1_000_000);
        Kv? copy = null;
        for (var step = 0; step < 4000; step++)
        {
            if (step == 2000)
            {
                copy = new Kv();
                copy.Service.RestoreCheckpoint(original.Service.WriteCheckpoint());
            }

            var clock = original.Clock + random.Next(-50, 100);
            var command = RandomCommand(random);
            var operation = KeyValueOperation.Encode(command);
            var prediction = BitConverter.GetBytes(clock);
            var expected = original.Service.Execute(operation, prediction);
            if (copy is not null)
            {
                Assert.Equal(Of(expected), Of(copy.Service.Execute(operation, prediction)));
            }

            original.Clock = Math.Max(original.Clock, clock);
        }

        Assert.Equal(original.Service.WriteCheckpoint(), copy!.Service.WriteCheckpoint());
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { (byte)'X', (byte)'K', (byte)'V', (byte)'1', 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { (byte)'V', (byte)'K', (byte)'V', (byte)'1', 0, 0, 0, 0, 0, 0, 0, 0, 1 })]
    [InlineData(new byte[] { (byte)'V', (byte)'K', (byte)'V', (byte)'1', 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 1, (byte)'a', (byte)'1' })]
    [InlineData(new byte[] { (byte)'V', (byte)'K', (byte)'V', (byte)'1', 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 5, (byte)'a', (byte)'1' })]
    [InlineData(new byte[] { (byte)'V', (byte)'K', (byte)'V', (byte)'1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 })]
    [InlineData(new byte[] { (byte)'V', (byte)'K', (byte)'V', (byte)'1', 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, (byte)'a', 0, 1, 0, (byte)'a' })]
    [InlineData(new byte[] { (byte)'V', (byte)'K', (byte)'V', (byte)'1', 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, (byte)'b', 0, 1, 0, (byte)'a' })]
    public void Malformed_checkpoints_are_refused(byte[] checkpoint)
    {
        var kv = new Kv();
        kv.Run("SET keep me");
        Assert.Throws<InvalidDataException>(() => kv.Service.RestoreCheckpoint(checkpoint));
        Assert.Equal(Bulk("me"), kv.Run("GET keep"));
    }

    internal static RespCommand RandomCommand(Random random)
    {
        var key = $"k{random.Next(30)}";
        var value = random.Next(4) == 0 ? random.Next(-5, 100).ToString() : new string('v', random.Next(0, 40));
        string[] arguments = random.Next(22) switch
        {
            0 => ["GET", key],
            1 => ["SET", key, value],
            2 => ["SET", key, value, "PX", random.Next(1, 300).ToString()],
            3 => ["SET", key, value, "NX", "EX", random.Next(1, 3).ToString()],
            4 => ["SET", key, value, "XX", "GET", "KEEPTTL"],
            5 => ["DEL", key, $"k{random.Next(30)}"],
            6 => ["EXISTS", key, key],
            7 => ["INCR", key],
            8 => ["DECRBY", key, random.Next(-10, 10).ToString()],
            9 => ["APPEND", key, value],
            10 => ["STRLEN", key],
            11 => ["MGET", key, $"k{random.Next(30)}", $"k{random.Next(30)}"],
            12 => ["MSET", key, value, $"k{random.Next(30)}", value],
            13 => ["GETDEL", key],
            14 => ["DBSIZE"],
            15 => ["CAS", key, value, "new" + value],
            16 => ["PEXPIRE", key, random.Next(-10, 300).ToString()],
            17 => ["EXPIRE", key, "1", random.Next(2) == 0 ? "GT" : "LT"],
            18 => ["PTTL", key],
            19 => ["TTL", key],
            20 => ["PERSIST", key],
            _ => ["SET", key, value, "PXAT", (1_000_000 + random.Next(0, 200_000)).ToString()],
        };
        return RespCommand.FromStrings(arguments);
    }

    private static System.Buffers.ReadOnlySequence<byte> Segmented(byte[] bytes, int size)
    {
        var first = new Piece(bytes.AsMemory(0, Math.Min(size, bytes.Length)), 0);
        var last = first;
        for (var at = size; at < bytes.Length; at += size)
        {
            last = last.Append(bytes.AsMemory(at, Math.Min(size, bytes.Length - at)));
        }

        return new System.Buffers.ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Piece : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public Piece(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Piece Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Piece(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    /// <summary>Gives spans of exactly the size asked for (one byte when none is asked for).</summary>
    private sealed class StingyWriter : System.Buffers.IBufferWriter<byte>
    {
        private byte[] span = [];

        public List<byte> Written { get; } = [];

        public void Advance(int count) => Written.AddRange(span.AsSpan(0, count));

        public Memory<byte> GetMemory(int sizeHint = 0) => span = new byte[Math.Max(sizeHint, 1)];

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
