namespace Viewstamped.Cli.Tests;

public sealed class DemoCommandTests
{
    [Theory]
    [InlineData("--duration must be 4 to 3600 seconds", "demo", "--duration", "1")]
    [InlineData("--clients must be 1 to 64", "demo", "--clients", "0")]
    [InlineData("--clients must be 1 to 64", "demo", "--clients", "65")]
    [InlineData("Cannot parse", "demo", "--duration", "soon")]
    public Task Bad_arguments_exit_1_and_say_what_is_wrong(string message, params string[] args) =>
        VsrInProcess.AssertBadArgumentsAsync(message, args);

    [Fact]
    public async Task A_short_demo_kills_and_restarts_the_primary_loses_nothing_and_cleans_up()
    {
        await using var demo = VsrProcess.Start("demo", "--duration", "6", "--clients", "2");

        var code = await demo.WaitForExitAsync(TimeSpan.FromSeconds(90));

        var output = demo.Output.ToList();
        Assert.True(code == 0, demo.Describe());
        Assert.Contains(output, line => line.Contains("killed the primary", StringComparison.Ordinal));
        Assert.Contains(output, line => line.Contains("restarted replica", StringComparison.Ordinal));
        Assert.Contains("operations lost: 0", output);
        Assert.Contains(output, line => line.StartsWith("linearizable: yes", StringComparison.Ordinal));
        Assert.Contains(output, line => line.StartsWith("failover time: ", StringComparison.Ordinal) && !line.Contains("none", StringComparison.Ordinal));
        var acknowledged = output.Single(line => line.StartsWith("operations acknowledged: ", StringComparison.Ordinal));
        Assert.DoesNotContain("acknowledged: 0 ", acknowledged, StringComparison.Ordinal);
        var root = output[0].Split("durable storage in ")[1].Split(';')[0];
        Assert.False(Directory.Exists(root), $"the demo removes {root}");
    }
}
