namespace Viewstamped.Simulation.Tests.Vopr;

public class SimulationRunTests
{
    [Fact]
    public void A_swarm_draws_calm_and_brutal_mixes()
    {
        var mixes = Enumerable.Range(1, 200)
            .Select(seed => new SimulationRun(new SimulationOptions { Seed = (ulong)seed }).Faults)
            .ToList();

        Assert.Contains(mixes, mix => !mix.HasFaults);
        Assert.Contains(mixes, mix => mix.Drop > 0 && mix.PartitionRate > 0 && mix.ReplicaCrashRate > 0 && mix.ClogRate > 0);
        Assert.Contains(mixes, mix => mix.Drop == 0 && mix.ReplicaCrashRate > 0);
        Assert.True(mixes.Distinct().Count() > 150, "each seed draws its own mix");
        Assert.Contains(mixes, mix => mix.Disk is not null && mix.PowerLossRate > 0);
        Assert.Contains(mixes, mix => mix.HasFaults && mix.Disk is null);
    }

    [Theory]
    [InlineData(FaultProfile.None)]
    [InlineData(FaultProfile.Network)]
    [InlineData(FaultProfile.Crash)]
    [InlineData(FaultProfile.All)]
    [InlineData(FaultProfile.Disk)]
    public void A_profile_draws_only_its_kinds_of_fault(FaultProfile profile)
    {
        for (var seed = 1UL; seed <= 30; seed++)
        {
            var mix = new SimulationRun(new SimulationOptions { Seed = seed, Faults = profile }).Faults;
            var network = mix.Drop > 0 || mix.Duplicate > 0 || mix.PartitionRate > 0 || mix.ClogRate > 0 || mix.DelayMax > mix.DelayMin;
            var crash = mix.ReplicaCrashRate > 0 || mix.ClientCrashRate > 0 || mix.CrashOnViewChange > 0;
            Assert.Equal(profile is FaultProfile.Network or FaultProfile.All, network);
            Assert.Equal(profile is FaultProfile.Crash or FaultProfile.All or FaultProfile.Disk, crash);
            Assert.Equal(profile is FaultProfile.Disk or FaultProfile.All, mix.Disk is not null);
            Assert.Equal(profile is FaultProfile.Disk or FaultProfile.All, mix.PowerLossRate > 0);
        }
    }

    [Fact]
    public void Explicit_options_apply_on_top_of_the_drawn_mix()
    {
        var run = new SimulationRun(new SimulationOptions { Seed = 3, Faults = FaultProfile.Crash, Drop = 0.2, CheckpointInterval = 32, LogSuffix = 7, LogSuffixBytesMax = 500 });

        Assert.Equal(0.2, run.Faults.Drop);
        Assert.True(run.Faults.ReplicaCrashRate > 0);
        Assert.Equal(32UL, run.CheckpointInterval);
        Assert.Equal(7UL, run.LogSuffix);
        Assert.Equal(500, run.LogSuffixBytesMax);
        Assert.Contains(new SimulationRun(new SimulationOptions { Seed = 3 }).LogSuffixBytesMax, new[] { 4L << 20, 0, 300, 1500 });
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void Never_more_than_f_replicas_are_crashed_or_recovering_while_faults_are_injected(int replicas)
    {
        var mix = new FaultMix { ReplicaCrashRate = 0.05, ReplicaDownTicksMax = 300, CrashOnViewChange = 1, DelayMax = 3 };
        var f = (replicas - 1) / 2;
        for (var seed = 1UL; seed <= 5; seed++)
        {
            var run = new SimulationRun(new SimulationOptions { Seed = seed, Replicas = replicas, FaultMix = mix, RequestsPerClient = 150 });
            var mostDown = 0;
            while (run.Step())
            {
                if (run.Phase == SimulationPhase.Faults)
                {
                    mostDown = Math.Max(mostDown, run.Cluster.Unavailable);
                    Assert.True(run.Cluster.Unavailable <= f, $"seed {seed} tick {run.Now}: {run.Cluster.Unavailable} unavailable");
                }
            }

            Assert.True(run.Result!.Passed, run.Result.Message);
            Assert.True(run.Result.Crashes > 0);
            Assert.Equal(f, mostDown);
        }
    }

    [Fact]
    public void Requests_that_outlast_the_liveness_bound_fail_the_run_for_liveness()
    {
        var mix = new FaultMix { PartitionRate = 1, PartitionTicksMax = 5, PartitionKinds = [PartitionKind.IsolatePrimary], DelayMax = 3 };
        var result = Simulator.Run(new SimulationOptions { Seed = 4, FaultMix = mix, FaultTicksMax = 60, LivenessTicks = 2, RequestsPerClient = 50 });

        Assert.Equal(FailureKind.Liveness, result.Failure);
        Assert.Contains("did not complete within 2 ticks after the faults healed", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fault_phase_ends_at_its_limit_and_the_workload_finishes_after_healing()
    {
        var mix = new FaultMix { PartitionRate = 1, PartitionTicksMax = 10_000, PartitionKinds = [PartitionKind.Symmetric], DelayMax = 2 };
        var result = Simulator.Run(new SimulationOptions { Seed = 5, Replicas = 3, FaultMix = mix, FaultTicksMax = 100, RequestsPerClient = 100 });

        Assert.True(result.Passed, result.Message);
        Assert.Equal(100UL, result.HealedAt);
        Assert.Equal(400, result.RequestsCompleted);
    }

    [Fact]
    public void An_unexpected_exception_is_a_crash_failure_with_its_tick()
    {
        using var trace = new FailingWriter(linesBeforeFailing: 50);
        var result = Simulator.Run(new SimulationOptions { Seed = 6, Trace = trace });

        Assert.Equal(FailureKind.Crash, result.Failure);
        Assert.StartsWith($"tick {result.Ticks}: unexpected IOException", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_storm_ends_the_run()
    {
        var mix = new FaultMix { Duplicate = 0.9, DelayMax = 5 };
        var result = Simulator.Run(new SimulationOptions { Seed = 7, FaultMix = mix, MessagesInFlightMax = 5 });

        Assert.Equal(FailureKind.Liveness, result.Failure);
        Assert.Contains("message storm", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_options_are_refused_with_a_clear_message()
    {
        Assert.Contains("view change timeout", Assert.Throws<ArgumentException>(() => new SimulationRun(new SimulationOptions { ViewChangeTimeoutTicks = 5 })).Message, StringComparison.Ordinal);
        Assert.Contains("replicas", Assert.Throws<ArgumentException>(() => new SimulationOptions { Replicas = 0 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("drop", Assert.Throws<ArgumentException>(() => new SimulationOptions { Drop = 1 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("log suffix", Assert.Throws<ArgumentException>(() => new SimulationOptions { CheckpointInterval = 4, LogSuffix = 16 }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("log suffix bytes", Assert.Throws<ArgumentException>(() => new SimulationOptions { LogSuffixBytesMax = -1 }.Validate()).Message, StringComparison.Ordinal);
    }

    private sealed class FailingWriter(int linesBeforeFailing) : StringWriter
    {
        private int lines;

        public override void WriteLine(string? value)
        {
            if (++lines > linesBeforeFailing)
            {
                throw new IOException("the trace disk is full");
            }

            base.WriteLine(value);
        }
    }
}
