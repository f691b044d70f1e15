using System.Globalization;
using System.Net;

namespace Viewstamped.KeyValue.Server.Tests;

/// <summary>redis-cli and redis-benchmark, unchanged, against the RESP servers of a 3-replica cluster.</summary>
public sealed class RedisToolsTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private const int Requests = 2000;

    private static string Key(string name) => $"{name}:{Guid.NewGuid():N}";

    [Fact]
    public async Task RedisCli_GetsRedisAnswers()
    {
        var endpoint = cluster.Backup.LocalEndPoint!;
        var k = Key("cli");
        Assert.Equal("PONG", await RedisTool.CliAsync(endpoint, "PING"));
        Assert.Equal("OK", await RedisTool.CliAsync(endpoint, "SET", k, "hello world"));
        Assert.Equal("hello world", await RedisTool.CliAsync(endpoint, "GET", k));
        Assert.Equal("11", await RedisTool.CliAsync(endpoint, "STRLEN", k));
        Assert.Equal("1", await RedisTool.CliAsync(endpoint, "SETNX", k + "n", "1"));
        Assert.Equal("2", await RedisTool.CliAsync(endpoint, "INCR", k + "n"));
        Assert.Equal(string.Empty, await RedisTool.CliAsync(endpoint, "GET", Key("missing")));
        Assert.Equal("ERR unknown command 'NOSUCH', with args beginning with: 'x' ", await RedisTool.CliAsync(endpoint, "NOSUCH", "x"));
        Assert.Equal("ERR wrong number of arguments for 'get' command", await RedisTool.CliAsync(endpoint, "GET"));
        var info = await RedisTool.CliAsync(endpoint, "INFO", "replication");
        Assert.Contains("role:master", info, StringComparison.Ordinal);
        Assert.Contains("vr_role:backup", info, StringComparison.Ordinal);

        // The primary's endpoint sees what went through the backup's.
        Assert.Equal("hello world", await RedisTool.CliAsync(cluster.Primary.LocalEndPoint!, "GET", k));
    }

    [Fact]
    public async Task RedisBenchmark_RunsToCompletion_AgainstThePrimaryAndABackup()
    {
        foreach (var server in new[] { cluster.Primary, cluster.Backup })
        {
            var endpoint = server.LocalEndPoint!;
            var before = await Counter(endpoint);
            var (code, output, error) = await RedisTool.RunAsync(
                "redis-benchmark", endpoint, TimeSpan.FromSeconds(90), "-t", "set,get,incr,mset", "-n", $"{Requests}", "-c", "16", "-P", "4", "--csv");
            Assert.True(code == 0, $"redis-benchmark exited with {code}: {output}\n{error}");

            // --csv: a header, then "TEST","requests per second",... for each test run.
            var rates = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Skip(1)
                .Select(line => line.Split(',').Select(cell => cell.Trim('"')).ToArray())
                .ToDictionary(cells => cells[0], cells => double.Parse(cells[1], CultureInfo.InvariantCulture));
            foreach (var test in new[] { "SET", "GET", "INCR", "MSET (10 keys)" })
            {
                Assert.True(rates.TryGetValue(test, out var rate) && rate > 0, $"no rate for {test} in:\n{output}\n{error}");
            }

            // Every INCR of the run was applied exactly once.
            Assert.Equal(before + Requests, await Counter(endpoint));
            Assert.Equal("3", await RedisTool.CliAsync(endpoint, "STRLEN", "key:__rand_int__")); // -d 3, the default
        }
    }

    private static async Task<long> Counter(IPEndPoint endpoint)
    {
        var text = await RedisTool.CliAsync(endpoint, "GET", "counter:__rand_int__");
        return text.Length == 0 ? 0 : long.Parse(text, CultureInfo.InvariantCulture);
    }
}
