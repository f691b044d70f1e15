namespace Viewstamped.Simulation.Tests.Vopr;

public class DeterminismTests
{
    [Theory]
    [InlineData(1UL, FaultProfile.Swarm)]
    [InlineData(7UL, FaultProfile.All)]
    [InlineData(12UL, FaultProfile.Network)]
    [InlineData(99UL, FaultProfile.Crash)]
    [InlineData(3UL, FaultProfile.Disk)]
    public void The_same_seed_gives_the_same_run_event_for_event(ulong seed, FaultProfile faults)
    {
        var options = new SimulationOptions { Seed = seed, Faults = faults, RequestsPerClient = 60 };
        var (first, firstTrace) = RunTraced(options);
        var (second, secondTrace) = RunTraced(options);

        Assert.Equal(firstTrace, secondTrace);
        Assert.Equal(first.Fingerprint, second.Fingerprint);
        Assert.Equal(first, second);
        Assert.True(firstTrace.Split('\n').Length > 100, "the trace records the run");
    }

    [Fact]
    public void The_fingerprint_does_not_depend_on_tracing()
    {
        var options = new SimulationOptions { Seed = 5, Faults = FaultProfile.All, RequestsPerClient = 40 };
        var (traced, _) = RunTraced(options);
        var untraced = Simulator.Run(options);

        Assert.Equal(traced.Fingerprint, untraced.Fingerprint);
        Assert.Equal(traced.Ticks, untraced.Ticks);
    }

    [Fact]
    public void Different_seeds_give_different_runs()
    {
        var fingerprints = Enumerable.Range(1, 10)
            .Select(seed => Simulator.Run(new SimulationOptions { Seed = (ulong)seed, RequestsPerClient = 20 }).Fingerprint)
            .ToHashSet();

        Assert.Equal(10, fingerprints.Count);
    }

    [Fact]
    public void A_seed_of_a_sweep_replays_alone()
    {
        var options = new SimulationOptions { Faults = FaultProfile.All, RequestsPerClient = 30 };
        var sweep = Simulator.Sweep(options, firstSeed: 40, count: 4);
        var alone = Simulator.Run(options with { Seed = 42 });

        Assert.Equal(alone, sweep[2]);
    }

    [Fact]
    public void The_trace_has_one_line_per_transition_with_the_documented_columns()
    {
        var (_, trace) = RunTraced(new SimulationOptions { Seed = 3, Faults = FaultProfile.Crash, RequestsPerClient = 30 });
        var statuses = new HashSet<string> { "normal", "view-change", "recovering" };
        var transitions = trace.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Where(columns => columns.Length == 8 && statuses.Contains(columns[2]))
            .ToList();

        Assert.NotEmpty(transitions);
        foreach (var columns in transitions)
        {
            Assert.True(ulong.TryParse(columns[0], out _));
            Assert.StartsWith("r", columns[1], StringComparison.Ordinal);
            Assert.All(columns[3..7], column => Assert.True(ulong.TryParse(column, out _), column));
            Assert.Contains(columns[7], new[] { "primary", "backup" });
        }
    }

    private static (SimulationResult Result, string Trace) RunTraced(SimulationOptions options)
    {
        using var trace = new StringWriter();
        var result = Simulator.Run(options with { Trace = trace });
        return (result with { }, trace.ToString());
    }
}
