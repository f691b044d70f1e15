using Xunit.Abstractions;

namespace Viewstamped.Simulation.Tests.Vopr;

/// <summary>
/// Every planted bug must be caught, as a correctness failure, within a small sweep with a fault
/// profile that provokes it; and the same sweeps must pass without the bug.
/// </summary>
public class MutationTests(ITestOutputHelper output)
{
    private const int SeedsMax = 50;

    /// <summary>A seed of `vsr simulate --faults all` where the view change loses a committed op unless it heeds uncertain tails.</summary>
    private const ulong UncertainTailSeed = 2795;

    /// <summary>A seed of `vsr simulate --faults all --lost-writes` where a replica's newest batch, acknowledged, is lost whole at a power loss.</summary>
    private const ulong LostNewestBatchSeed = 5838;

    /// <summary>Isolated primaries with slow paths: an old primary's long, stale log meets a later view change.</summary>
    private static readonly FaultMix StaleLogs = new()
    {
        DelayMin = 1,
        DelayMax = 4,
        Drop = 0.05,
        PartitionRate = 0.01,
        PartitionTicksMax = 300,
        PartitionKinds = [PartitionKind.IsolatePrimary],
        ClogRate = 0.02,
        ClogTicksMax = 200,
        ClogDelayMax = 200,
        ReplicaCrashRate = 0.004,
        ReplicaDownTicksMax = 300,
    };

    /// <summary>
    /// Disks whose newest batch rots often, on replicas that crash often: a rotten newest batch must be
    /// read back as corruption, and a crash must come while it is still the newest for a wrong answer to show.
    /// </summary>
    private static readonly FaultMix RottenNewestBatches = new()
    {
        DelayMin = 1,
        DelayMax = 3,
        ReplicaCrashRate = 0.006,
        ReplicaDownTicksMax = 100,
        Disk = new DiskFaults { SyncLatencyTicksMax = 3, LatentCorruptionProbability = 0.3, LatentCorruptionsMax = 3 },
        PowerLossRate = 0.0015,
        PowerDownTicksMax = 50,
    };

    public static TheoryData<string> Profiles => new() { "all", "stale-logs", "disk", "rotten-newest-batches" };

    [Fact]
    public void Commit_without_quorum_is_caught() => AssertCaught(PlantedMutation.CommitWithoutQuorum, Options("all"));

    [Fact]
    public void Do_view_change_drops_last_entry_is_caught() => AssertCaught(PlantedMutation.DoViewChangeDropsLastEntry, Options("all"));

    [Fact]
    public void Start_view_accepts_older_view_is_caught() => AssertCaught(PlantedMutation.StartViewAcceptsOlderView, Options("all"));

    [Fact]
    public void View_not_persisted_is_caught() => AssertCaught(PlantedMutation.ViewNotPersisted, Options("all"), "view went back");

    [Fact]
    public void Log_selection_ignores_log_view_is_caught() => AssertCaught(PlantedMutation.LogSelectionIgnoresLogView, Options("stale-logs"));

    [Fact]
    public void No_duplicate_check_is_caught() => AssertCaught(PlantedMutation.NoDuplicateCheck, Options("all"), "executed twice");

    [Fact]
    public void Ack_without_entries_is_caught() => AssertCaught(PlantedMutation.AckWithoutEntries, Options("all"));

    [Fact]
    public void View_start_without_quorum_is_caught() => AssertCaught(PlantedMutation.ViewStartWithoutQuorum, Options("all"));

    [Fact]
    public void Trust_damaged_log_is_caught() => AssertCaught(PlantedMutation.TrustDamagedLog, Options("all"));

    [Fact]
    public void Repair_not_written_back_is_caught() => AssertCaught(PlantedMutation.RepairNotWrittenBack, Options("disk"));

    [Fact]
    public void Compact_before_checkpoint_written_is_caught() =>
        AssertCaught(PlantedMutation.CompactBeforeCheckpointWritten, Options("all"), "compacts its log");

    [Fact]
    // Losing a committed op this way takes a rotten, unsummarized newest batch on a replica that acknowledged
    // it, a power cut before its summary is synced, and a view change whose quorum leaves out every other
    // replica holding the op: about one seed in 3000 of `--faults all --lost-writes false` (found by that sweep,
    // before lost writes were modelled; when the simulator's draws change, a new one is found the same way).
    // Without the mutation the seed passes (The_uncertain_tail_seed_passes_without_the_mutation).
    public void Trust_uncertain_tail_is_caught() =>
        AssertCaught(PlantedMutation.TrustUncertainTail, Options("all") with { LostWrites = false }, "differs from the op committed before", firstSeed: UncertainTailSeed, seedsMax: 1);

    [Fact]
    public void The_uncertain_tail_seed_passes_without_the_mutation()
    {
        var result = Simulator.Run(Options("all") with { Seed = UncertainTailSeed, LostWrites = false });
        Assert.True(result.Passed, $"{result.Failure}: {result.Message}");
    }

    [Fact]
    // The same planted bug through a lost write: a backup acknowledges op 29 and loses power; its newest batch
    // never reached the disk and nothing durable vouched for it, so it restarts with op 28 and an uncertain tail
    // (the machine rebooted without a clean close). A view change with the lagging third replica adopts its log
    // and commits another op 29. Found by a sweep of `--faults all --lost-writes` (one seed in about 6000).
    public void Trust_uncertain_tail_is_caught_when_a_newest_batch_is_lost_whole()
    {
        var options = Options("all") with { LostWrites = true };
        AssertCaught(PlantedMutation.TrustUncertainTail, options, "differs from the op committed before", firstSeed: LostNewestBatchSeed, seedsMax: 1);
        var result = Simulator.Run(options with { Seed = LostNewestBatchSeed });
        Assert.True(result.Passed, $"{result.Failure}: {result.Message}");
        Assert.True(result.LostNewestBatches > 0, "the seed no longer loses a newest batch");
    }

    [Fact]
    // Acknowledged entries and views lost at a crash show as a view going back or as a committed op
    // changing, whichever a checker sees first in the run.
    public void Ack_before_persist_is_caught() => AssertCaught(PlantedMutation.AckBeforePersist, Options("all"));

    [Fact]
    // A torn superblock is rare (a crash must land inside a superblock sync), and most trusted torn
    // copies are refused at open before they can do harm; more seeds reach one that does.
    public void Trust_torn_superblock_is_caught() => AssertCaught(PlantedMutation.TrustTornSuperblock, Options("disk"), seedsMax: 400);

    [Fact]
    public void Skip_log_checksum_is_caught() => AssertCaught(PlantedMutation.SkipLogChecksum, Options("disk"));

    [Fact]
    public void Skip_checkpoint_checksum_is_caught() => AssertCaught(PlantedMutation.SkipCheckpointChecksum, Options("disk"));

    [Fact]
    public void Trust_torn_newest_batch_is_caught() =>
        AssertCaught(PlantedMutation.TrustTornNewestBatch, Options("rotten-newest-batches"), "lost silently");

    [Fact]
    public void Every_mutation_has_a_test_and_a_name()
    {
        var tested = typeof(MutationTests).GetMethods().Count(m => m.Name.EndsWith("_is_caught", StringComparison.Ordinal));
        Assert.Equal(Enum.GetValues<PlantedMutation>().Length - 1, tested);
        Assert.Equal(tested, Mutations.All.Count);
        Assert.All(Mutations.All, info =>
        {
            Assert.Matches("^[a-z]+(-[a-z]+)*$", info.Name);
            Assert.True(Mutations.TryParse(info.Name, out var parsed));
            Assert.Equal(info.Mutation, parsed);
        });
        Assert.False(Mutations.TryParse("no-such-bug", out _));
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public void The_provoking_sweeps_pass_without_a_mutation(string profile)
    {
        var results = SweepTests.Sweep(Options(profile), firstSeed: 1, count: SeedsMax);
        var failed = results.Where(r => !r.Passed).ToList();
        Assert.True(failed.Count == 0, string.Join('\n', failed.Select(r => $"seed {r.Seed}: {r.Failure}: {r.Message}")));
    }

    private static SimulationOptions Options(string profile) => profile switch
    {
        "stale-logs" => new SimulationOptions { FaultMix = StaleLogs, Clients = 16, RequestsPerClient = 100 },
        "disk" => new SimulationOptions { Faults = FaultProfile.Disk },
        "rotten-newest-batches" => new SimulationOptions { FaultMix = RottenNewestBatches },
        _ => new SimulationOptions { Faults = FaultProfile.All },
    };

    /// <summary>Runs seeds from <paramref name="firstSeed"/> until one fails for correctness; the mutation must be caught within <paramref name="seedsMax"/> seeds.</summary>
    private void AssertCaught(PlantedMutation mutation, SimulationOptions options, string? expected = null, int seedsMax = SeedsMax, ulong firstSeed = 1)
    {
        var others = new List<string>();
        for (var seed = firstSeed; seed < firstSeed + (ulong)seedsMax; seed++)
        {
            var result = Simulator.Run(options with { Seed = seed, Mutation = mutation });
            if (result.Failure == FailureKind.Correctness)
            {
                output.WriteLine($"{Mutations.NameOf(mutation)} caught at seed {seed}: {result.Message}");
                if (expected is not null)
                {
                    Assert.Contains(expected, result.Message, StringComparison.Ordinal);
                }

                return;
            }

            if (!result.Passed)
            {
                others.Add($"seed {seed}: {result.Failure}: {result.Message}");
            }
        }

        Assert.Fail($"{Mutations.NameOf(mutation)} was not caught as a correctness failure in {seedsMax} seeds"
            + (others.Count > 0 ? $"; other failures:\n{string.Join('\n', others)}" : string.Empty));
    }
}
