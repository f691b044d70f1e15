using System.Diagnostics;
using StackExchange.Redis;

namespace Viewstamped.KeyValue.Server.Tests;

/// <summary>The primary's process dies (its host and RESP server stop) while clients write.</summary>
public sealed class FailoverTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task KillPrimary_DuringRedisBenchmark_KeepsEveryAcknowledgedWrite_AndExpiryAgrees()
    {
        var primary = cluster.PrimaryIndex;
        var survivors = Enumerable.Range(0, 3).Where(i => i != primary).ToArray();
        var prefix = $"ack:{Guid.NewGuid():N}:";

        // StackExchange.Redis with every endpoint, default configuration otherwise.
        var log = new StringWriter();
        var options = ConfigurationOptions.Parse(string.Join(',', cluster.Servers.Select(s => s.LocalEndPoint!.ToString())));
        options.ConnectTimeout = 2000;
        options.SyncTimeout = 5000;
        options.AsyncTimeout = 5000;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options, log);
        var db = redis.GetDatabase();

        // Keys whose expiry must be the same everywhere after the view change.
        Assert.True(await db.StringSetAsync(prefix + "long", "v", TimeSpan.FromSeconds(60)));
        Assert.True(await db.StringSetAsync(prefix + "short", "v", TimeSpan.FromMilliseconds(300)));

        // Load through a backup's endpoint all along: redis-benchmark loops (-l) until stopped.
        using var stopBenchmark = new CancellationTokenSource();
        var benchmark = RedisTool.RunAsync(
            "redis-benchmark", cluster.Servers[survivors[0]].LocalEndPoint!, TimeSpan.FromSeconds(90), stopBenchmark.Token, "-t", "set,incr", "-c", "8", "-P", "4", "-l", "--csv");

        var acknowledged = new List<int>();
        var failures = 0;
        var killedAt = -1;
        var clock = Stopwatch.StartNew();
        for (var i = 0; clock.Elapsed < TimeSpan.FromSeconds(40) && (killedAt < 0 || acknowledged.Count < killedAt + 200); i++)
        {
            if (killedAt < 0 && acknowledged.Count == 200)
            {
                Assert.False(benchmark.IsCompleted, "redis-benchmark stopped before the primary was killed");
                killedAt = acknowledged.Count;
                await cluster.Servers[primary].DisposeAsync();
                await cluster.Hosts[primary].StopAsync();
            }

            try
            {
                if (await db.StringSetAsync(prefix + i, i.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                {
                    acknowledged.Add(i);
                }
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or RedisServerException)
            {
                // Not acknowledged: it may or may not have been applied, and nothing is claimed for it.
                failures++;
                await Task.Delay(20);
            }
        }

        Assert.True(killedAt >= 0 && acknowledged.Count >= killedAt + 200, $"after the kill only {acknowledged.Count - killedAt} writes were acknowledged in 40 s ({failures} failed); client log:\n{log}");

        // Every acknowledged write is there, read back through the survivors.
        foreach (var chunk in acknowledged.Chunk(100))
        {
            var values = await db.StringGetAsync(chunk.Select(i => (RedisKey)(prefix + i)).ToArray());
            for (var j = 0; j < chunk.Length; j++)
            {
                Assert.Equal(chunk[j].ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)values[j]);
            }
        }

        // The benchmark ran through the failover: still running, then stopped by us.
        Assert.False(benchmark.IsCompleted, "redis-benchmark stopped during the failover");
        await stopBenchmark.CancelAsync();
        var (code, output, error) = await benchmark;
        Assert.True(code == -1, $"redis-benchmark exited with {code}: {output}\n{error}");

        // Expiry: the key with a minute left kept (at most) its minute, the short one is gone.
        await Task.Delay(400);
        Assert.True((await db.StringGetAsync(prefix + "short")).IsNull);
        var ttl = await db.KeyTimeToLiveAsync(prefix + "long");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

        // Both survivors executed the same ops and hold byte-identical states: keys, values,
        // expiry times and the service's clock.
        var hosts = survivors.Select(i => cluster.Hosts[i]).ToArray();
        using var quiet = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var target = hosts.Max(h => h.Status!.CommitNumber.Value);
        foreach (var host in hosts)
        {
            await host.WaitForStatusAsync(s => s.ExecutedOp.Value >= target && s.ExecutedOp == s.Op, quiet.Token);
        }

        Assert.Equal(hosts[0].Status!.ExecutedOp, hosts[1].Status!.ExecutedOp);
        Assert.Equal(cluster.Services[survivors[0]].WriteCheckpoint(), cluster.Services[survivors[1]].WriteCheckpoint());
        Assert.Equal(cluster.Services[survivors[0]].Now, cluster.Services[survivors[1]].Now);
    }
}
