namespace Viewstamped.Cli.Tests;

/// <summary>The options that bound the log in bytes: checkpoints by bytes, and the committed part of a view change's log.</summary>
public sealed class LogByteOptionTests
{
    [Theory]
    [InlineData("--checkpoint-bytes must be 0", "replica", "--checkpoint-bytes", "-1", "--cluster", "1", "--replica", "0", "--replicas", "127.0.0.1:1")]
    [InlineData("--checkpoint-bytes must be 0", "replica", "--service", "kv", "--checkpoint-bytes", "-5", "--cluster", "1", "--replica", "0", "--replicas", "127.0.0.1:1")]
    [InlineData("--checkpoint-bytes must be 0", "cluster", "--checkpoint-bytes", "-1")]
    [InlineData("checkpoint bytes interval must not be negative", "simulate", "--seed", "1", "--checkpoint-bytes", "-1")]
    [InlineData("committed bytes must not be negative", "simulate", "--seed", "1", "--view-change-committed-bytes", "-1")]
    [InlineData("--checkpoint-bytes", "simulate", "--seed", "1", "--checkpoint-bytes", "lots")]
    public Task Bad_values_exit_1_with_a_message_naming_them(string message, params string[] args) =>
        VsrInProcess.AssertBadArgumentsAsync(message, args);

    [Fact]
    public async Task A_simulation_runs_with_the_byte_limits_given_and_reports_them()
    {
        var (code, output, error) = await VsrInProcess.RunAsync("simulate", "--seed", "7", "--checkpoint-interval", "64", "--checkpoint-bytes", "300", "--view-change-committed-bytes", "0");

        Assert.True(code == 0, error + output);
        Assert.Contains("checkpoint bytes 300, view-change committed bytes 0", output, StringComparison.Ordinal);
    }
}
