namespace Viewstamped.Simulation.Tests.Vopr;

/// <summary>
/// Seeds on which the simulator found bugs, kept as they were found. Each names the bug and gives the
/// command that replays it. A seed replays the same run only with the same build, so after a fix a
/// seed may stop exercising its bug; the sweeps keep looking. Every seed here was found before lost writes
/// were modelled, so they run without them, as they were found (add <c>--lost-writes false</c> to a replay
/// with disk faults).
/// </summary>
public class RegressionTests
{
    /// <summary>
    /// A replica stranded in a view change. r0, in a view change to view 9, proposes view 10 too (a StartViewChange
    /// for 10 arrived while it collected votes for 9); r1 counts r0's vote for 10 and enters view 10;
    /// then r0 completes view 9 with r2. r1 stays in view change 10 for good: it ignores view 9, and
    /// r0 and r2 ignore its StartViewChanges because they hear from their primary (the pre-vote rule).
    /// The cluster runs on without it; one more crash (f = 1) then stalls it. Replay:
    /// <c>vsr simulate --seed 42 --faults network --clients 8</c>.
    /// </summary>
    [Fact]
    public void Seed_42_a_replica_stranded_in_a_view_change_rejoins() =>
        AssertPasses(new SimulationOptions { Seed = 42, Faults = FaultProfile.Network, Clients = 8 });

    /// <summary>The same bug in the CI sweep. <c>vsr simulate --seed 91 --requests 400</c>.</summary>
    [Fact]
    public void Seed_91_of_the_ci_sweep_converges() =>
        AssertPasses(new SimulationOptions { Seed = 91, RequestsPerClient = 400 });

    /// <summary>
    /// Two replicas stranded in the same view change answer each other's StartViewChange forever
    /// (a replica in a view change answers a peer's StartViewChange for that view with its own); with
    /// message duplication the ping-pong multiplies into a message storm. Replay:
    /// <c>vsr simulate --seed 576 --faults network --replicas 5</c>.
    /// </summary>
    [Fact]
    public void Seed_576_no_start_view_change_storm() =>
        AssertPasses(new SimulationOptions { Seed = 576, Faults = FaultProfile.Network, Replicas = 5 });

    /// <summary>Two replicas stranded in view change 3 of five. <c>vsr simulate --seed 151 --faults all --replicas 5</c>.</summary>
    [Fact]
    public void Seed_151_two_stranded_replicas_rejoin() =>
        AssertPasses(new SimulationOptions { Seed = 151, Faults = FaultProfile.All, Replicas = 5 });

    /// <summary>
    /// A single replica commits an op as it prepares it, so a checkpoint can compact the log past
    /// entries whose Prepare has not been flushed yet; the flush then slices from before the log's
    /// start and trips the log's invariant. Replay: <c>vsr simulate --seed 1020 --replicas 1 --requests 80</c>.
    /// </summary>
    [Fact]
    public void Seed_1020_a_single_replica_compacts_before_flushing_its_prepares() =>
        AssertPasses(new SimulationOptions { Seed = 1020, Replicas = 1, RequestsPerClient = 80 });

    /// <summary>
    /// What the stranded replica of seed 42 costs clients: with it out of the protocol, crashing one
    /// more replica (within f = 1) stops the cluster: the primary cannot commit, and the stranded
    /// replica's StartViewChanges are ignored because the remaining backup hears from its primary.
    /// </summary>
    [Fact]
    public void Seed_42_one_crash_after_the_stranding_does_not_stop_the_cluster()
    {
        var run = new SimulationRun(new SimulationOptions { Seed = 42, Faults = FaultProfile.Network, Clients = 8 });
        while (run.Phase != SimulationPhase.Converging && run.Step())
        {
        }

        var cluster = run.Cluster;
        cluster.RunTicks(300);
        var victim = Enumerable.Range(0, cluster.ReplicaCount)
            .First(i => cluster.Replica(i) is { Status: ReplicaStatus.Normal, IsPrimary: false });
        cluster.Crash(victim);
        var client = cluster.AddClient();

        Assert.True(cluster.RunUntil(() => client.IsIdle, 5_000),
            $"a new client could not register within 5,000 ticks of crashing r{victim}: "
            + string.Join("; ", cluster.Running.Select(r => $"r{r.Index.Value} {r.Status} view {r.View} op {r.Op} commit {r.CommitNumber}")));
    }

    /// <summary>
    /// A checkpoint file written for a Ready that waited for the next sync was deleted when the sync in
    /// progress completed (only the current and previous checkpoint files were kept), so the next restart
    /// found the superblock naming a missing file. Replay: <c>vsr simulate --seed 133 --faults disk</c>.
    /// </summary>
    [Fact]
    public void Seed_133_a_checkpoint_written_during_a_sync_survives_it() =>
        AssertPasses(new SimulationOptions { Seed = 133, Faults = FaultProfile.Disk });

    /// <summary>
    /// A checker bug, not a protocol bug: r0 started view 3 as primary, appended op 251 and lost power
    /// before the sync, so view 3 and the entry never left it; it restarted in view 2, started view 3
    /// again and appended a different op 251. The checker had remembered the first entry as view 3's.
    /// It now forgets what a crashed replica made in views it never promised. Replay:
    /// <c>vsr simulate --seed 412 --faults all</c> (and 221).
    /// </summary>
    [Theory]
    [InlineData(221UL)]
    [InlineData(412UL)]
    public void Seeds_221_and_412_a_view_lost_before_its_sync_may_be_started_again(ulong seed) =>
        AssertPasses(new SimulationOptions { Seed = seed, Faults = FaultProfile.All });

    /// <summary>
    /// The same for a single replica, which commits and executes on its own: what it did after its last
    /// sync was never acknowledged and is forgotten with the power. Replay:
    /// <c>vsr simulate --seed 293 --replicas 1 --faults disk</c>.
    /// </summary>
    [Fact]
    public void Seed_293_a_single_replica_may_redo_what_it_lost_with_the_power() =>
        AssertPasses(new SimulationOptions { Seed = 293, Replicas = 1, Faults = FaultProfile.Disk });

    /// <summary>
    /// Latent corruption: a replica restarted from a damaged disk withholds its DoViewChange, and when
    /// it promised the view its peers were already normal in, the primary (which answers only a
    /// DoViewChange) never sent it a StartView: it stayed in view change with an empty log. A damaged
    /// replica now asks for a log through the Recovery protocol instead. Replay:
    /// <c>vsr simulate --seed 341 --faults all</c> (and 818).
    /// </summary>
    [Theory]
    [InlineData(341UL)]
    [InlineData(818UL)]
    public void Seeds_341_and_818_a_replica_with_a_damaged_log_asks_for_a_log_instead_of_voting(ulong seed) =>
        AssertPasses(new SimulationOptions { Seed = seed, Faults = FaultProfile.All });

    /// <summary>
    /// A load left the superblock copies at two sequences (one copy new, the rest one update older); the
    /// next superblock write tore the new copy, so the older copies won the following load, but their
    /// checkpoint file had been deleted as "neither current nor previous". The simulated disk now keeps
    /// every checkpoint a superblock copy on the disk still names. Replay: <c>vsr simulate --seed 97 --faults all</c>.
    /// </summary>
    [Fact]
    public void Seed_97_a_checkpoint_named_by_an_older_superblock_copy_is_kept() =>
        AssertPasses(new SimulationOptions { Seed = 97, Faults = FaultProfile.All });

    /// <summary>
    /// View changes that carry no committed entries: a replica whose log did not reach the first entry
    /// of the log it installed dropped its own, fetched the committed ops in between from a peer and
    /// executed them, but its disk then held them neither in its log nor in a checkpoint. After a crash it
    /// restarted at its older checkpoint, and the peers, which had compacted those ops away, offered only a
    /// checkpoint no newer than its own: it never caught up (executed 256 of 447). A replica now takes a
    /// checkpoint as soon as it has executed such a gap. Replay:
    /// <c>vsr simulate --seed 184 --view-change-committed-bytes 0</c> (and seed 50).
    /// </summary>
    [Theory]
    [InlineData(50UL)]
    [InlineData(184UL)]
    public void Seeds_50_and_184_a_replica_checkpoints_the_committed_ops_it_fetched_into_a_gap(ulong seed) =>
        AssertPasses(new SimulationOptions { Seed = seed, ViewChangeCommittedBytesMax = 0, CheckpointBytesInterval = 0 });

    /// <summary>
    /// View changes that carry two committed entries: replicas whose logs did not reach the first entry
    /// of the log they installed dropped theirs, executed the ops in between from state transfer, and
    /// held them only in memory until a checkpoint of them was written; with checkpoints written beside
    /// the loop (400 ticks) and one skipped while another was in flight, that took long enough for power
    /// losses and one damaged disk to take every copy of committed ops (seed 490: every replica stuck at
    /// executed 32 of 43). A receiver now keeps its log and fetches the gap into it before it installs.
    /// Replay: <c>vsr simulate --seed 490 --faults all --view-change-committed-bytes 200</c> (and the others).
    /// </summary>
    [Theory]
    [InlineData(490UL)]
    [InlineData(568UL)]
    [InlineData(573UL)]
    [InlineData(695UL)]
    [InlineData(740UL)]
    [InlineData(907UL)]
    public void Seeds_490_and_others_a_receiver_fills_the_gap_into_its_log_before_installing(ulong seed) =>
        AssertPasses(new SimulationOptions { Seed = seed, Faults = FaultProfile.All, ViewChangeCommittedBytesMax = 200 });

    /// <summary>
    /// Found while filling gaps. Seed 474: a replica repairing single entries filled a gap into its log,
    /// then appended its repaired suffix after it (the gap now gives the repair up). Seeds 80 and 477: a
    /// new primary, filling a gap, installed a peer's checkpoint of ops a later view had committed, beyond
    /// the head of the log it had chosen, and tried to start its view with that log. Replay:
    /// <c>vsr simulate --seed 477 --faults all --view-change-committed-bytes 1</c>.
    /// </summary>
    [Theory]
    [InlineData(474UL, 200L)]
    [InlineData(477UL, 1L)]
    [InlineData(80UL, 4096L)]
    public void Seeds_474_477_and_80_filling_a_gap_meets_entry_repair_and_later_views(ulong seed, long budget) =>
        AssertPasses(new SimulationOptions { Seed = seed, Faults = FaultProfile.All, ViewChangeCommittedBytesMax = budget });

    /// <summary>
    /// Simulated disk. Seed 996: a replica crashed in the middle of a per-entry repair, after the cut that
    /// dropped its damaged suffix; at the next load new damage offered a suffix that was whole, the repair
    /// finished at once and cleared the damage flag, and the replica voted with a log that lacked ops it
    /// had acknowledged: a committed op changed. A load now offers no suffix when the flag was already set.
    /// Seeds 97 and 335: tears of superblock updates on top of earlier tears and misdirected copies left no
    /// readable copy; a crash now tears an update only while every copy is readable. Replay:
    /// <c>vsr simulate --seed 996 --faults all --view-change-committed-bytes 4096</c>.
    /// </summary>
    [Theory]
    [InlineData(996UL, 4096L)]
    [InlineData(97UL, 1L)]
    [InlineData(335UL, 200L)]
    public void Seeds_996_97_and_335_the_simulated_disk_stays_within_its_fault_budget(ulong seed, long budget) =>
        AssertPasses(new SimulationOptions { Seed = seed, Faults = FaultProfile.All, ViewChangeCommittedBytesMax = budget });

    /// <summary>
    /// Uncertain tails. Seeds 169 and 400: one replica's log was damaged and the other two had cut tails
    /// they could not vouch for, in different log views, the older log the longer; the new primary waited
    /// for a certain replica that never came. With f replicas damaged, no uncertain tail can have lost an
    /// acknowledged op, so the view now starts. Replay: <c>vsr simulate --seed 400 --faults all</c>.
    /// </summary>
    [Theory]
    [InlineData(169UL)]
    [InlineData(400UL)]
    public void Seeds_169_and_400_f_damaged_replicas_make_every_uncertain_tail_a_torn_write(ulong seed) =>
        AssertPasses(new SimulationOptions { Seed = seed, Faults = FaultProfile.All });

    private static void AssertPasses(SimulationOptions options)
    {
        var result = Simulator.Run(options with { LostWrites = false });
        Assert.True(result.Passed, $"seed {result.Seed}: {result.Failure}: {result.Message}");
    }
}
