using System.Globalization;
using System.Text;

namespace Viewstamped.KeyValue.Server.Tests;

public sealed class RespServerTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static string Key(string name) => $"{name}:{Guid.NewGuid():N}";

    [Fact]
    public async Task KeyValueCommands_ThroughABackup()
    {
        await using var redis = await RawRespClient.ConnectAsync(cluster.Backup.LocalEndPoint!);
        var (a, b, n) = (Key("a"), Key("b"), Key("n"));

        Assert.Equal("+OK", await redis.CallAsync("SET", a, "hello"));
        Assert.Equal("$hello", await redis.CallAsync("GET", a));
        Assert.Equal(":1", await redis.CallAsync("INCR", n));
        Assert.Equal(":2", await redis.CallAsync("INCR", n));
        Assert.Equal("+OK", await redis.CallAsync("MSET", a, "x", b, "y"));
        Assert.Equal("[$x, $y, $nil]", await redis.CallAsync("MGET", a, b, Key("missing")));
        Assert.Equal(":2", await redis.CallAsync("DEL", a, b, Key("missing")));
        Assert.Equal("$nil", await redis.CallAsync("GET", a));
        Assert.StartsWith("-ERR value is not an integer", await redis.CallAsync("INCR", await SetAndReturn(redis, "text")), StringComparison.Ordinal);

        // Another replica's server sees the same, committed data.
        await using var other = await RawRespClient.ConnectAsync(cluster.Primary.LocalEndPoint!);
        Assert.Equal("$2", await other.CallAsync("GET", n));
    }

    [Fact]
    public async Task PipelinedCommands_AreAnsweredInOrder()
    {
        await using var redis = await RawRespClient.ConnectAsync(cluster.Backup.LocalEndPoint!);
        var k = Key("p");
        var batch = new List<byte>();
        batch.AddRange(RawRespClient.Encode("SET", k, "1"));
        batch.AddRange(RawRespClient.Encode("INCR", k));
        batch.AddRange(RawRespClient.Encode("PING"));
        batch.AddRange(RawRespClient.Encode("GET", k));
        batch.AddRange(RawRespClient.Encode("ECHO", "hi"));
        batch.AddRange("PING inline\r\n"u8.ToArray());
        for (var i = 0; i < 40; i++)
        {
            // More than the per-connection queue (16): reading pauses, nothing is lost.
            batch.AddRange(RawRespClient.Encode("INCR", k));
        }

        batch.AddRange(RawRespClient.Encode("GET", k));
        var opsBefore = cluster.Hosts[cluster.PrimaryIndex].Status!.Op.Value;
        await redis.SendRawAsync(batch.ToArray());

        Assert.Equal("+OK", await redis.ReadAsync());
        Assert.Equal(":2", await redis.ReadAsync());
        Assert.Equal("+PONG", await redis.ReadAsync());
        Assert.Equal("$2", await redis.ReadAsync());
        Assert.Equal("$hi", await redis.ReadAsync());
        Assert.Equal("$inline", await redis.ReadAsync());
        for (var i = 0; i < 40; i++)
        {
            Assert.Equal($":{i + 3}", await redis.ReadAsync());
        }

        Assert.Equal("$42", await redis.ReadAsync());

        // The 44 replicated commands went out in runs, each run one log entry.
        var ops = cluster.Hosts[cluster.PrimaryIndex].Status!.Op.Value - opsBefore;
        Assert.InRange(ops, 1UL, 20UL);
    }

    [Fact]
    public async Task PipelinesOfManyConnectionsAtOnce_EachGetTheirOwnRepliesInOrder()
    {
        // Their runs share log entries (ReplicationBatcher); each must still get exactly its replies.
        // Every pipeline is sent before any reply is read, and replies are read one connection at a
        // time, so the test's blocking reads never starve the servers' thread pool.
        const int connections = 12;
        var clients = new List<RawRespClient>();
        var keys = Enumerable.Range(0, connections).Select(i => Key($"many{i}")).ToArray();
        for (var i = 0; i < connections; i++)
        {
            clients.Add(await RawRespClient.ConnectAsync(cluster.Primary.LocalEndPoint!));
        }

        try
        {
            for (var round = 0; round < 3; round++)
            {
                var start = round * 100;
                for (var i = 0; i < connections; i++)
                {
                    var pipeline = new List<byte>();
                    pipeline.AddRange(RawRespClient.Encode("SET", keys[i], $"{start + i}"));
                    for (var n = 0; n < 10; n++)
                    {
                        pipeline.AddRange(RawRespClient.Encode("INCR", keys[i]));
                    }

                    pipeline.AddRange(RawRespClient.Encode("MGET", keys[i], Key("absent")));
                    pipeline.AddRange(RawRespClient.Encode("APPEND", keys[i], "x"));
                    pipeline.AddRange(RawRespClient.Encode("INCR", keys[i]));
                    await clients[i].SendRawAsync(pipeline.ToArray());
                }

                for (var i = 0; i < connections; i++)
                {
                    var redis = clients[i];
                    Assert.Equal("+OK", await redis.ReadAsync());
                    for (var n = 1; n <= 10; n++)
                    {
                        Assert.Equal($":{start + i + n}", await redis.ReadAsync());
                    }

                    Assert.Equal($"[${start + i + 10}, $nil]", await redis.ReadAsync());
                    Assert.Equal($":{$"{start + i + 10}x".Length}", await redis.ReadAsync());
                    Assert.Equal("-ERR value is not an integer or out of range", await redis.ReadAsync());
                }
            }
        }
        finally
        {
            foreach (var redis in clients)
            {
                await redis.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task PingEchoAndInfoReplication_ShowTheRole()
    {
        await using var backup = await RawRespClient.ConnectAsync(cluster.Backup.LocalEndPoint!);
        Assert.Equal("+PONG", await backup.CallAsync("PING"));
        Assert.Equal("$hello world", await backup.CallAsync("ECHO", "hello world"));
        var info = await backup.CallAsync("INFO", "replication");
        Assert.Contains("role:master", info, StringComparison.Ordinal);
        Assert.Contains("vr_role:backup", info, StringComparison.Ordinal);
        Assert.Contains("vr_status:normal", info, StringComparison.Ordinal);
        Assert.Contains("vr_replica_count:3", info, StringComparison.Ordinal);
        Assert.Contains($"vr_primary:{cluster.PrimaryIndex}", info, StringComparison.Ordinal);
        Assert.Contains("vr_view:", info, StringComparison.Ordinal);
        Assert.Contains("vr_commit:", info, StringComparison.Ordinal);

        await using var primary = await RawRespClient.ConnectAsync(cluster.Primary.LocalEndPoint!);
        Assert.Contains("vr_role:primary", await primary.CallAsync("INFO", "replication"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InfoMemory_ShowsTheHeapTheProcessAndTheStore()
    {
        await using var redis = await RawRespClient.ConnectAsync(cluster.Primary.LocalEndPoint!);
        Assert.Equal("+OK", await redis.CallAsync("SET", Key("info-memory"), new string('x', 1000)));

        // The collector's figures are those of its last collection: make sure there was one.
        GC.Collect();
        var info = await redis.CallAsync("INFO", "memory");
        var fields = info.Split("\r\n").Where(l => l.Contains(':', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)], l => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..]);
        long Bytes(string name) => long.Parse(fields[name], CultureInfo.InvariantCulture);

        Assert.InRange(Bytes("used_memory"), 1, Bytes("used_memory_peak"));
        Assert.InRange(Bytes("used_memory_rss"), Bytes("used_memory"), Bytes("used_memory_rss_peak"));
        Assert.InRange(Bytes("gc_heap_size"), 1, Bytes("gc_committed"));
        Assert.InRange(new[] { "gen0", "gen1", "gen2", "loh", "poh" }.Sum(g => Bytes($"gc_{g}_size")), 1, Bytes("gc_heap_size"));

        // The primary executed the SET before it replied, so its store holds at least its first slab.
        Assert.InRange(Bytes("used_memory_dataset"), 1 << 20, Bytes("used_memory"));
        Assert.Equal("dotnet-gc", fields["mem_allocator"]);

        // A server not told the store's size leaves the field out.
        await using var secured = await RawRespClient.ConnectAsync(cluster.SecuredServer.LocalEndPoint!);
        Assert.Equal("+OK", await secured.CallAsync("AUTH", ClusterFixture.Password));
        Assert.DoesNotContain("used_memory_dataset", await secured.CallAsync("INFO", "memory"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequirePass_RefusesCommandsUntilAuth()
    {
        await using var redis = await RawRespClient.ConnectAsync(cluster.SecuredServer.LocalEndPoint!);
        var k = Key("auth");
        Assert.StartsWith("-NOAUTH", await redis.CallAsync("GET", k), StringComparison.Ordinal);
        Assert.StartsWith("-NOAUTH", await redis.CallAsync("SET", k, "v"), StringComparison.Ordinal);
        Assert.StartsWith("-WRONGPASS", await redis.CallAsync("AUTH", "wrong"), StringComparison.Ordinal);
        Assert.Equal("+OK", await redis.CallAsync("AUTH", ClusterFixture.Password));
        Assert.Equal("+OK", await redis.CallAsync("SET", k, "v"));
        Assert.Equal("$v", await redis.CallAsync("GET", k));
    }

    [Fact]
    public async Task MalformedStream_ClosesOnlyThatConnection()
    {
        await using var good = await RawRespClient.ConnectAsync(cluster.Backup.LocalEndPoint!);
        await using var bad = await RawRespClient.ConnectAsync(cluster.Backup.LocalEndPoint!);
        Assert.Equal("+PONG", await good.CallAsync("PING"));

        await bad.SendRawAsync(Encoding.ASCII.GetBytes("*1\r\n$abc\r\n"));
        Assert.StartsWith("-ERR Protocol error", await bad.ReadAsync(), StringComparison.Ordinal);
        Assert.True(await bad.IsClosedAsync());

        var k = Key("good");
        Assert.Equal("+OK", await good.CallAsync("SET", k, "still"));
        Assert.Equal("$still", await good.CallAsync("GET", k));
    }

    [Fact]
    public async Task Quit_RepliesThenCloses()
    {
        await using var redis = await RawRespClient.ConnectAsync(cluster.Primary.LocalEndPoint!);
        Assert.Equal("+OK", await redis.CallAsync("QUIT"));
        Assert.True(await redis.IsClosedAsync());
    }

    private static async Task<string> SetAndReturn(RawRespClient redis, string value)
    {
        var k = Key("s");
        Assert.Equal("+OK", await redis.CallAsync("SET", k, value));
        return k;
    }
}
