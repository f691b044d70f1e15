using System.Globalization;
using System.Text.Json;
using Viewstamped.Cli.Runtime;

namespace Viewstamped.Cli.Tests;

public sealed class ClusterCommandTests
{
    private static readonly TimeSpan bound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("cluster", "--service", "memcached")]
    [InlineData("cluster", "--service", "adder", "--requirepass", "secret")]
    [InlineData("cluster", "--tick-ms", "0")]
    [InlineData("cluster", "--replicas", "0")]
    [InlineData("cluster", "--no-such-option")]
    public async Task Bad_arguments_exit_1_with_a_message(params string[] args)
    {
        var (code, _, error) = await VsrInProcess.RunAsync(args);

        Assert.Equal(1, code);
        Assert.Contains("vsr", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_value_cluster_serves_redis_clients_on_every_replica_asks_for_the_password_can_be_benchmarked_and_stops_cleanly_at_end_of_input()
    {
        await using var cluster = VsrProcess.Start("cluster", "--replicas", "3", "--requirepass", "s3cret");
        await cluster.WaitForLineAsync(line => line.StartsWith("ready;", StringComparison.Ordinal), bound);
        var ports = cluster.Output
            .Where(line => line.StartsWith("redis-cli -p ", StringComparison.Ordinal))
            .Select(line => int.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture))
            .ToList();
        var root = cluster.Output.Single(line => line.StartsWith("cluster ", StringComparison.Ordinal)).Split(" in ")[1].Split(',')[0];
        Assert.Equal(3, ports.Distinct().Count());
        Assert.True(File.Exists(Path.Combine(root, "cluster.key")), "vsr cluster makes a cluster key");
        if (OperatingSystem.IsLinux())
        {
            // Every replica runs with the capped gen0 budget (ReplicaGcSettings).
            var pid = cluster.Output.First(line => line.StartsWith("replica 0 ", StringComparison.Ordinal)).Split(" pid ")[1].Split(' ')[0];
            Assert.Contains($"{ReplicaGcSettings.Gen0MaxBudgetVariable}=", File.ReadAllText($"/proc/{pid}/environ"), StringComparison.Ordinal);
        }

        using (var first = await RespConnection.ConnectAsync(ports[0]))
        {
            Assert.StartsWith("-NOAUTH", await first.SendAsync("GET", "k"), StringComparison.Ordinal);
            Assert.Equal("+OK", await first.SendAsync("AUTH", "s3cret"));
            Assert.Equal("+OK", await first.SendAsync("SET", "k", "v1"));
        }

        using (var other = await RespConnection.ConnectAsync(ports[2]))
        {
            Assert.Equal("+OK", await other.SendAsync("AUTH", "s3cret"));
            Assert.Equal("v1", await other.SendAsync("GET", "k"));
            Assert.Equal(":1", await other.SendAsync("INCR", "n"));
        }

        // vsr bench measures the same cluster through its replica endpoints, id and key.
        var header = cluster.Output.Single(line => line.StartsWith("cluster ", StringComparison.Ordinal)).Split(' ');
        var replicas = cluster.Output.Single(line => line.StartsWith("replicas=", StringComparison.Ordinal))["replicas=".Length..];
        var (code, output, error) = await VsrInProcess.RunAsync(
            "bench", "--target", replicas, "--cluster", header[1], "--key", Path.Combine(root, "cluster.key"), "--clients", "2", "--duration", "1", "--json");
        Assert.True(code == 0, error);
        using (var json = JsonDocument.Parse(output.TrimEnd().Split('\n')[^1]))
        {
            Assert.True(json.RootElement.GetProperty("ops").GetInt64() > 0, output);
            Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("fsyncs_per_s").ValueKind);
        }

        Assert.Equal(0, await cluster.StopAsync(bound));
        Assert.Contains("stopped", cluster.Output);
        Assert.False(Directory.Exists(root), "the temporary directory is removed");
    }
}
