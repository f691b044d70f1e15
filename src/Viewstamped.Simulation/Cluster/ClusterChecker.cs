using Viewstamped.Messages;

namespace Viewstamped.Simulation;

/// <summary>A safety invariant of PROTOCOL-NOTES did not hold; the message says which and where.</summary>
public sealed class SafetyViolationException(string message) : Exception(message);

/// <summary>
/// Checks the cluster-wide safety invariants of PROTOCOL-NOTES after every step: committed
/// prefixes agree and never change (1, 2), views never go back, also across restarts (3), one
/// primary and one log per view (4), only normal replicas execute (5), checkpoints of the same op
/// are byte-identical (8). Client-visible results are checked by the history checker.
/// </summary>
public sealed class ClusterChecker
{
    private readonly Dictionary<ulong, ulong> committed = [];
    private readonly Dictionary<(ulong View, ulong Op), ulong> entriesByView = [];
    private readonly Dictionary<ulong, ReplicaIndex> primaries = [];
    private readonly Dictionary<ulong, ulong> checkpoints = [];
    private readonly View[] lastView;
    private readonly OpNumber[] checkedCommit;

    /// <summary>Creates a checker for a cluster of <paramref name="replicaCount"/> replicas.</summary>
    public ClusterChecker(int replicaCount)
    {
        lastView = new View[replicaCount];
        checkedCommit = new OpNumber[replicaCount];
    }

    /// <summary>The highest op known committed anywhere.</summary>
    public OpNumber HighestCommitted { get; private set; }

    /// <summary>The checksum of the committed entry at <paramref name="op"/>, if it has been seen.</summary>
    public ulong? CommittedChecksum(OpNumber op) => committed.TryGetValue(op.Value, out var checksum) ? checksum : null;

    /// <summary>Checks one replica's state; call after each of its steps and ticks.</summary>
    public void Observe(Replica replica)
    {
        var index = replica.Index.Value;
        Require(replica.View >= lastView[index], $"r{index} view went back from {lastView[index]} to {replica.View}");
        lastView[index] = replica.View;
        Require(replica.LogView <= replica.View, $"r{index} log view {replica.LogView} above view {replica.View}");
        ObservePrimary(replica);
        ObserveLog(replica);
        ObserveCheckpoint(replica);
    }

    /// <summary>A replica restarted: its commit watermark starts over, its views must not.</summary>
    public void Restarted(Replica replica) => checkedCommit[replica.Index.Value] = OpNumber.Zero;

    private void ObservePrimary(Replica replica)
    {
        if (replica.Status != ReplicaStatus.Normal || !replica.IsPrimary)
        {
            return;
        }

        if (primaries.TryGetValue(replica.View.Value, out var primary))
        {
            Require(primary == replica.Index, $"two primaries in view {replica.View}: r{primary.Value} and r{replica.Index.Value}");
        }
        else
        {
            primaries[replica.View.Value] = replica.Index;
        }
    }

    private void ObserveLog(Replica replica)
    {
        var index = replica.Index.Value;
        var from = OpNumber.Max(checkedCommit[index].Next, replica.LogStart);
        var to = OpNumber.Min(replica.CommitNumber, replica.Op);
        for (var op = from; op <= to; op = op.Next)
        {
            var entry = replica.EntryAt(op)!;
            var checksum = entry.Checksum();
            if (committed.TryGetValue(op.Value, out var known))
            {
                Require(known == checksum, $"r{index} committed op {op} differs from the op committed before ({Describe(entry)})");
            }
            else
            {
                committed[op.Value] = checksum;
                HighestCommitted = OpNumber.Max(HighestCommitted, op);
            }
        }

        checkedCommit[index] = OpNumber.Max(checkedCommit[index], to);
        ObserveNewestEntries(replica);
    }

    /// <summary>At most one log per view: an entry of view v at op n is the same on every replica.</summary>
    private void ObserveNewestEntries(Replica replica)
    {
        var from = OpNumber.Max(replica.LogStart, replica.Op.Value > 8 ? new OpNumber(replica.Op.Value - 8) : OpNumber.Zero.Next);
        for (var op = from; op <= replica.Op; op = op.Next)
        {
            var entry = replica.EntryAt(op)!;
            var key = (entry.View.Value, op.Value);
            var checksum = entry.Checksum();
            if (entriesByView.TryGetValue(key, out var known))
            {
                Require(known == checksum, $"two different entries for op {op} in view {entry.View} (r{replica.Index.Value})");
            }
            else
            {
                entriesByView[key] = checksum;
            }
        }
    }

    private void ObserveCheckpoint(Replica replica)
    {
        var op = replica.CheckpointOp.Value;
        if (op == 0)
        {
            return;
        }

        var checksum = replica.LatestCheckpointChecksum;
        if (checkpoints.TryGetValue(op, out var known))
        {
            Require(known == checksum, $"r{replica.Index.Value} checkpoint at op {op} differs from another replica's");
        }
        else
        {
            checkpoints[op] = checksum;
        }
    }

    private static string Describe(LogEntry entry) =>
        $"view {entry.View}, client {entry.Client}, request {entry.RequestNumber}";

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new SafetyViolationException(message);
        }
    }
}
