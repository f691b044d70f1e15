using StackExchange.Redis;

namespace Viewstamped.KeyValue.Server.Tests;

/// <summary>
/// StackExchange.Redis, unchanged and with its default configuration, against the RESP servers of
/// a 3-replica cluster: it connects (its handshake is answered as Redis would answer it) and every
/// command it sends for the supported string commands gets Redis's answer.
/// </summary>
public sealed class StackExchangeRedisTests(ClusterFixture cluster) : IClassFixture<ClusterFixture>
{
    private static string Key(string name) => $"{name}:{Guid.NewGuid():N}";

    private async Task<(ConnectionMultiplexer Redis, StringWriter Log)> ConnectAsync(params RespServer[] servers)
    {
        var log = new StringWriter();
        var configuration = string.Join(',', servers.Select(s => s.LocalEndPoint!.ToString()));
        try
        {
            return (await ConnectionMultiplexer.ConnectAsync(configuration, log), log);
        }
        catch (RedisConnectionException e)
        {
            throw new InvalidOperationException($"could not connect; the client's log:\n{log}", e);
        }
    }

    [Fact]
    public async Task DefaultConfiguration_Connects_ToEveryEndpoint()
    {
        var (redis, log) = await ConnectAsync(cluster.Servers.ToArray());
        await using var _ = redis;
        Assert.True(redis.IsConnected, log.ToString());
        foreach (var server in cluster.Servers)
        {
            var endpoint = redis.GetServer(server.LocalEndPoint!);
            Assert.True(endpoint.IsConnected, log.ToString());
            Assert.True(await endpoint.PingAsync() >= TimeSpan.Zero);
            Assert.Equal(new Version(7, 2, 0), endpoint.Version);
        }

        var db = redis.GetDatabase();
        var k = Key("hello");
        Assert.True(await db.StringSetAsync(k, "world"));
        Assert.Equal("world", (string?)await db.StringGetAsync(k));
    }

    [Fact]
    public async Task StringCommands_GiveRedisAnswers()
    {
        var (redis, _) = await ConnectAsync(cluster.Backup);
        await using var __ = redis;
        var db = redis.GetDatabase();
        var (a, b, n, missing) = (Key("a"), Key("b"), Key("n"), Key("missing"));

        Assert.True(db.StringSet(a, "1"));
        Assert.Equal("1", (string?)db.StringGet(a));
        Assert.True(db.StringGet(missing).IsNull);
        Assert.False(db.StringSet(a, "2", when: When.NotExists));
        Assert.False(db.StringSet(missing, "2", when: When.Exists));
        Assert.True(db.StringSet(b, "x", when: When.NotExists));
        Assert.Equal("x", (string?)db.StringSetAndGet(b, "y"));
        Assert.Equal("y", (string?)db.StringGetSet(b, "z"));
        Assert.Equal("z", (string?)db.StringGetDelete(b));
        Assert.False(db.KeyExists(b));

        Assert.Equal(1, db.StringIncrement(n));
        Assert.Equal(11, db.StringIncrement(n, 10));
        Assert.Equal(10, db.StringDecrement(n));
        Assert.Equal(5, db.StringDecrement(n, 5));
        var text = Key("text");
        db.StringSet(text, "abc");
        var error = Assert.Throws<RedisServerException>(() => db.StringIncrement(text));
        Assert.Equal("ERR value is not an integer or out of range", error.Message);

        Assert.Equal(3, db.StringAppend(a, "23"));
        Assert.Equal(3, db.StringLength(a));
        Assert.Equal(0, db.StringLength(missing));

        Assert.True(db.StringSet([new(a, "A"), new(b, "B")]));
        var values = db.StringGet([a, b, missing]);
        Assert.Equal(["A", "B", null], values.Select(v => (string?)v));
        Assert.Equal(2, db.KeyExists([a, b, missing]));
        Assert.Equal(2, db.KeyDelete([a, b, missing]));
        Assert.False(db.KeyDelete(a));
        Assert.True(db.StringSet(a, "again"));
        Assert.True(db.KeyDelete(a, CommandFlags.None));
    }

    [Fact]
    public async Task Expiry_GivesRedisAnswers()
    {
        var (redis, _) = await ConnectAsync(cluster.Primary);
        await using var __ = redis;
        var db = redis.GetDatabase();
        var (k, p, missing) = (Key("ttl"), Key("plain"), Key("missing"));

        Assert.True(db.StringSet(k, "v", TimeSpan.FromSeconds(100)));
        var ttl = db.KeyTimeToLive(k);
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        Assert.True(db.KeyPersist(k));
        Assert.Null(db.KeyTimeToLive(k));
        Assert.True(db.KeyExpire(k, TimeSpan.FromMilliseconds(50_500)));
        Assert.InRange(db.KeyTimeToLive(k)!.Value, TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(51));
        Assert.False(db.KeyExpire(missing, TimeSpan.FromSeconds(5)));
        Assert.Null(db.KeyTimeToLive(missing));

        Assert.True(db.StringSet(p, "v"));
        Assert.True(db.StringSet(p, "w", TimeSpan.FromSeconds(30), keepTtl: false));
        Assert.True(db.StringSet(p, "x", expiry: null, keepTtl: true));
        Assert.InRange(db.KeyTimeToLive(p)!.Value, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));

        Assert.True(db.StringSet(k, "gone", TimeSpan.FromMilliseconds(1)));
        await Task.Delay(20);
        Assert.True(db.StringGet(k).IsNull);
    }

    [Fact]
    public async Task Server_Commands_AnswerForTheCluster()
    {
        var options = ConfigurationOptions.Parse(cluster.Backup.LocalEndPoint!.ToString());
        options.AllowAdmin = true;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var server = redis.GetServer(cluster.Backup.LocalEndPoint!);
        Assert.False(server.IsReplica); // a backup takes writes too: it forwards them to the primary
        var replication = server.Info("replication").SelectMany(g => g).ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("master", replication["role"]);
        Assert.Equal("backup", replication["vr_role"]);
        Assert.Equal("normal", replication["vr_status"]);
        var k = Key("dbsize");
        redis.GetDatabase().StringSet(k, "v");
        Assert.True(await server.DatabaseSizeAsync() >= 1);
        Assert.Single(server.ClientList());
        Assert.Equal("PONG", (string?)redis.GetDatabase().Execute("PING"));
        Assert.Equal("hi", (string?)redis.GetDatabase().Execute("ECHO", "hi"));
        var unknown = Assert.Throws<RedisServerException>(() => redis.GetDatabase().Execute("NOSUCH", "a"));
        Assert.Equal("ERR unknown command 'NOSUCH', with args beginning with: 'a' ", unknown.Message);
        var arity = Assert.Throws<RedisServerException>(() => redis.GetDatabase().Execute("GET"));
        Assert.Equal("ERR wrong number of arguments for 'get' command", arity.Message);
    }

    [Fact]
    public async Task SmallCommandsClientsUse_GiveRedisAnswers()
    {
        var (redis, _) = await ConnectAsync(cluster.Backup);
        await using var __ = redis;
        var db = redis.GetDatabase();
        var (k, e) = (Key("setnx"), Key("setex"));
        Assert.Equal(1, (long)db.Execute("SETNX", k, "1"));
        Assert.Equal(0, (long)db.Execute("SETNX", k, "2"));
        Assert.Equal("OK", (string?)db.Execute("SETEX", e, "100", "v"));
        Assert.InRange(db.KeyTimeToLive(e)!.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        Assert.Equal("OK", (string?)db.Execute("PSETEX", e, "100000", "w"));
        Assert.Equal("w", (string?)db.Execute("GETSET", e, "x"));
        Assert.Null(db.KeyTimeToLive(e));
        Assert.Equal(2, (long)db.Execute("UNLINK", k, e, Key("missing")));
        var bad = Assert.Throws<RedisServerException>(() => db.Execute("SETEX", k, "0", "v"));
        Assert.Equal("ERR invalid expire time in 'setex' command", bad.Message);
    }

    [Fact]
    public async Task Password_IsGivenByTheClient()
    {
        var log = new StringWriter();
        var options = ConfigurationOptions.Parse(cluster.SecuredServer.LocalEndPoint!.ToString());
        options.Password = ClusterFixture.Password;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(options, log);
        Assert.True(redis.IsConnected, log.ToString());
        var k = Key("secured");
        Assert.True(await redis.GetDatabase().StringSetAsync(k, "v"));
        Assert.Equal("v", (string?)await redis.GetDatabase().StringGetAsync(k));

        var wrong = ConfigurationOptions.Parse(cluster.SecuredServer.LocalEndPoint!.ToString());
        wrong.Password = "wrong";
        wrong.ConnectTimeout = 2000;
        wrong.AbortOnConnectFail = true;
        await Assert.ThrowsAsync<RedisConnectionException>(() => ConnectionMultiplexer.ConnectAsync(wrong));
    }
}
