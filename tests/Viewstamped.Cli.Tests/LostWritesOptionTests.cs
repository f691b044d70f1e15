namespace Viewstamped.Cli.Tests;

public sealed class LostWritesOptionTests
{
    [Fact]
    public Task Lost_writes_need_simulated_disks() =>
        VsrInProcess.AssertBadArgumentsAsync("--lost-writes needs simulated disks", "simulate", "--seed", "1", "--faults", "network", "--lost-writes");

    [Fact]
    public async Task A_simulation_with_lost_writes_says_so_in_its_faults()
    {
        var (code, output, error) = await VsrInProcess.RunAsync("simulate", "--seed", "3", "--faults", "disk", "--lost-writes");

        Assert.True(code == 0, error + output);
        Assert.Contains("lost newest batches)", output, StringComparison.Ordinal);
    }
}
