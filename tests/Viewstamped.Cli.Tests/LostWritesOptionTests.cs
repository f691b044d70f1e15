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

    [Fact]
    public async Task Lost_writes_are_on_with_disk_faults_unless_turned_off_and_a_replay_line_keeps_them_off()
    {
        var (code, output, error) = await VsrInProcess.RunAsync("simulate", "--seed", "3", "--faults", "disk");
        Assert.True(code == 0, error + output);
        Assert.Contains("lost newest batches)", output, StringComparison.Ordinal);

        (code, output, error) = await VsrInProcess.RunAsync("simulate", "--seed", "6", "--faults", "disk", "--lost-writes", "false", "--mutate", "skip-log-checksum");
        Assert.DoesNotContain("lost newest batches", output, StringComparison.Ordinal);
        Assert.Contains("--lost-writes false", output + error, StringComparison.Ordinal);
    }
}
