using System.Buffers.Binary;
using Viewstamped.Messages;
using static Viewstamped.Tests.Protocol.ReplicaHarness;

namespace Viewstamped.Tests.Protocol;

/// <summary>When checkpoints are taken: every <see cref="ReplicaOptions.CheckpointInterval"/> ops, and by bytes executed.</summary>
public class CheckpointScheduleTests
{
    /// <summary>Operation sizes of the workload below: uneven, so byte and op counts disagree.</summary>
    private static readonly int[] Sizes = [1000, 200, 3000, 50, 1200, 700, 2500, 100, 900, 1500, 4, 2200, 800, 1800, 60, 1100];

    private static Func<ReplicaOptions, ReplicaOptions> Schedule(ulong interval, long bytes) =>
        o => o with { CheckpointInterval = interval, CheckpointBytesInterval = bytes, LogSuffix = 2 };

    /// <summary>An Adder operation of <paramref name="size"/> bytes (the Adder reads the first four) adding 1.</summary>
    private static byte[] Operation(int size)
    {
        var operation = new byte[Math.Max(4, size)];
        BinaryPrimitives.WriteInt32LittleEndian(operation, 1);
        return operation;
    }

    /// <summary>Submits the workload's operations <paramref name="from"/> to <paramref name="to"/> (1-based) at a single replica, which commits on its own.</summary>
    private static void Submit(ReplicaHarness single, int from, int to, List<ulong>? checkpoints = null)
    {
        for (var n = from; n <= to; n++)
        {
            single.Step(new Request(new ClientId(7), (ulong)n, RequestKind.Operation, Operation(Sizes[(n - 1) % Sizes.Length])) { Header = FromClient() });
            if (checkpoints is not null && (checkpoints.Count == 0 || checkpoints[^1] != single.Replica.CheckpointOp.Value))
            {
                checkpoints.Add(single.Replica.CheckpointOp.Value);
            }
        }
    }

    private static ReplicaHarness Single(Func<ReplicaOptions, ReplicaOptions> configure, MemoryStorage? storage = null)
    {
        var single = new ReplicaHarness(0, replicaCount: 1, configure: configure, storage: storage);
        if (storage is null)
        {
            single.Step(new Request(new ClientId(7), 0, RequestKind.Register, []) { Header = FromClient() });
        }

        return single;
    }

    [Theory]
    [InlineData(0, 1)] // entries only: all ten the suffix allows are kept, back to op 1
    [InlineData(5000, 5)]
    [InlineData(4706, 5)] // ops 5 to 8: 114 + 1264 + 764 + 2564 bytes
    [InlineData(4705, 6)]
    [InlineData(100, 9)] // not even the checkpoint's own op fits
    public void The_suffix_kept_before_a_checkpoint_stops_at_its_byte_budget(long bytesMax, ulong logStart)
    {
        var single = Single(o => o with { CheckpointInterval = 8, CheckpointBytesInterval = 0, LogSuffix = 10, LogSuffixBytesMax = bytesMax });
        Submit(single, 1, 7);
        Assert.Equal(new OpNumber(8), single.Replica.CheckpointOp);
        Assert.Equal(new OpNumber(logStart), single.Replica.LogStart);
        Assert.Equal(7, single.Service.Total);
    }

    [Fact]
    public void A_negative_suffix_byte_budget_is_refused()
    {
        var options = new ReplicaOptions { Cluster = 1, ReplicaCount = 1, Replica = new ReplicaIndex(0), Seed = 1, LogSuffixBytesMax = -1 };
        Assert.Contains("LogSuffixBytesMax", Assert.Throws<ArgumentException>(options.Validate).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_is_taken_once_the_bytes_executed_since_the_last_one_reach_the_byte_interval()
    {
        // Op 1 registers (64 bytes); ops 2 to 4 carry 1064, 264 and 3064 bytes: 4456 by op 4.
        var single = Single(Schedule(1000, 4000));
        Submit(single, 1, 2);
        Assert.Equal(OpNumber.Zero, single.Replica.CheckpointOp);
        Submit(single, 3, 3);
        Assert.Equal(new OpNumber(4), single.Replica.CheckpointOp);
        Assert.Equal(new OpNumber(4), single.Storage.Checkpoint?.Op);
        Assert.Equal(new OpNumber(3), single.Replica.LogStart);
        Assert.Equal(3, single.Service.Total);
    }

    [Fact]
    public void The_byte_interval_is_counted_from_every_checkpoint_op_count_ones_included()
    {
        var single = Single(Schedule(5, 4000));
        var checkpoints = new List<ulong>();
        Submit(single, 1, 12, checkpoints);

        // Bytes reach 4000 at op 4 (4456); op 5 by count; counted from op 5, ops 6 to 8 carry 1264, 764
        // and 2564 bytes: op 8; op 10 by count; ops 11 to 13 carry only 3896 bytes.
        Assert.Equal([0UL, 4, 5, 8, 10], checkpoints);
    }

    [Fact]
    public void Without_a_byte_interval_checkpoints_follow_the_op_count_alone()
    {
        var single = Single(Schedule(5, 0));
        var checkpoints = new List<ulong>();
        Submit(single, 1, 12, checkpoints);
        Assert.Equal([0UL, 5, 10], checkpoints);
    }

    [Fact]
    public void A_replica_restarted_from_its_checkpoint_takes_the_same_next_checkpoints_as_one_that_never_stopped()
    {
        var steady = Single(Schedule(1000, 5000));
        var steadyCheckpoints = new List<ulong>();
        Submit(steady, 1, 40, steadyCheckpoints);

        var first = Single(Schedule(1000, 5000));
        Submit(first, 1, 17);
        Assert.NotEqual(OpNumber.Zero, first.Replica.CheckpointOp);
        Assert.True(first.Replica.ExecutedOp > first.Replica.CheckpointOp, "the restart re-executes ops after its checkpoint");
        var restarted = Single(Schedule(1000, 5000), first.Storage);
        restarted.Tick();
        Assert.Equal(first.Replica.ExecutedOp, restarted.Replica.ExecutedOp);
        var restartedCheckpoints = new List<ulong> { restarted.Replica.CheckpointOp.Value };
        Submit(restarted, 18, 40, restartedCheckpoints);

        Assert.Equal(steadyCheckpoints.SkipWhile(op => op < restartedCheckpoints[0]), restartedCheckpoints);
        Assert.True(restartedCheckpoints.Count >= 4, string.Join(",", restartedCheckpoints));
        Assert.Equal(steady.Replica.LatestCheckpointChecksum, restarted.Replica.LatestCheckpointChecksum);
    }

    [Fact]
    public void A_negative_byte_interval_is_refused()
    {
        var options = new ReplicaOptions { Cluster = ClusterId, ReplicaCount = 1, Replica = new ReplicaIndex(0), Seed = 1, CheckpointBytesInterval = -1 };
        Assert.Contains("CheckpointBytesInterval", Assert.Throws<ArgumentException>(() => options.Validate()).Message, StringComparison.Ordinal);
    }
}
