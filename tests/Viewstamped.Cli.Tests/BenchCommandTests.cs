using System.Text.Json;

namespace Viewstamped.Cli.Tests;

public sealed class BenchCommandTests
{
    [Theory]
    [InlineData("--clients must be 1 to 4096", "bench", "--clients", "0")]
    [InlineData("--pipeline must be 1 to 256", "bench", "--pipeline", "0")]
    [InlineData("--duration must be", "bench", "--duration", "0")]
    [InlineData("--value-size must be", "bench", "--value-size", "-5")]
    [InlineData("--keys must be", "bench", "--keys", "0")]
    [InlineData("--target needs --cluster", "bench", "--target", "127.0.0.1:7000")]
    [InlineData("--cluster:", "bench", "--target", "127.0.0.1:7000", "--cluster", "not-a-number")]
    [InlineData("--target:", "bench", "--target", "nowhere", "--cluster", "0x2a")]
    [InlineData("--key: no such file", "bench", "--target", "127.0.0.1:7000", "--cluster", "0x2a", "--key", "/no/such/key")]
    [InlineData("--cluster, --key and --tls-* go with --target", "bench", "--cluster", "0x2a")]
    [InlineData("--tls-cert /no/such.crt: no such file", "bench", "--target", "127.0.0.1:7000", "--cluster", "0x2a", "--tls-cert", "/no/such.crt", "--tls-ca", "/no/ca.crt")]
    [InlineData("mutual TLS needs --tls-cert and --tls-ca", "bench", "--target", "127.0.0.1:7000", "--cluster", "0x2a", "--tls-ca", "/no/ca.crt")]
    [InlineData("Cannot parse", "bench", "--clients", "many")]
    public Task Bad_arguments_exit_1_and_say_what_is_wrong(string message, params string[] args) =>
        VsrInProcess.AssertBadArgumentsAsync(message, args);

    [Fact]
    public async Task A_short_run_against_an_embedded_cluster_prints_a_table_and_the_json_fields_last()
    {
        var (code, output, error) = await VsrInProcess.RunAsync("bench", "--clients", "4", "--pipeline", "2", "--duration", "1", "--keys", "50", "--json");

        Assert.True(code == 0, error);
        var lines = output.TrimEnd().Split('\n');
        Assert.Contains(lines, line => line.Contains("SETs acknowledged", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(lines[^1]);
        var root = json.RootElement;
        Assert.Equal(4, root.GetProperty("clients").GetInt32());
        Assert.Equal(2, root.GetProperty("pipeline").GetInt32());
        var ops = root.GetProperty("ops").GetInt64();
        Assert.True(ops > 0, "some SETs were acknowledged");
        Assert.True(root.GetProperty("ops_per_s").GetDouble() > 0);
        var p50 = root.GetProperty("p50_ms").GetDouble();
        var p99 = root.GetProperty("p99_ms").GetDouble();
        var p999 = root.GetProperty("p999_ms").GetDouble();
        Assert.True(p50 > 0 && p50 <= p99 && p99 <= p999, $"percentiles in order: {p50} {p99} {p999}");
        Assert.True(root.GetProperty("fsyncs_per_s").GetDouble() > 0, "the embedded replicas fsync");
        Assert.True(root.GetProperty("entries_per_fsync").GetDouble() >= 1, "each log fsync covers at least one entry");
    }
}
