using static Viewstamped.KeyValue.Tests.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>Replies as Redis 7 gives them, for GET, SET, DEL, UNLINK, EXISTS, MGET, MSET, GETDEL, GETSET, SETNX, SETEX, PSETEX, STRLEN, APPEND, DBSIZE.</summary>
public sealed class StringCommandTests
{
    private readonly Kv kv = new();

    [Fact]
    public void Get_and_set()
    {
        Assert.Equal(Nil, kv.Run("GET k"));
        Assert.Equal(Ok, kv.Run("SET k v"));
        Assert.Equal(Bulk("v"), kv.Run("GET k"));
        Assert.Equal(Ok, kv.Run("set k w"));
        Assert.Equal(Bulk("w"), kv.Run("get k"));
        Assert.Equal(Ok, kv.Do("SET", "k", ""));
        Assert.Equal("$0\r\n\r\n", kv.Run("GET k"));
    }

    [Fact]
    public void Keys_and_values_are_binary_safe()
    {
        byte[] key = [0, 13, 10, 255];
        byte[] value = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];
        Assert.Equal(Ok, Of(kv.Execute(new RespCommand([Bytes("SET"), key, value]))));
        Assert.Equal(Resp.BulkString(value), kv.Execute(new RespCommand([Bytes("GET"), key])));
        Assert.Equal(Nil, Of(kv.Execute(new RespCommand([Bytes("GET"), key[..3]]))));
    }

    [Fact]
    public void Set_nx_and_xx()
    {
        Assert.Equal(Nil, kv.Run("SET k v XX"));
        Assert.Equal(Nil, kv.Run("GET k"));
        Assert.Equal(Ok, kv.Run("SET k v NX"));
        Assert.Equal(Nil, kv.Run("SET k w NX"));
        Assert.Equal(Bulk("v"), kv.Run("GET k"));
        Assert.Equal(Ok, kv.Run("SET k w xx"));
        Assert.Equal(Bulk("w"), kv.Run("GET k"));
        Assert.Equal(Ok, kv.Run("SET fresh x NX NX"));
    }

    [Fact]
    public void Set_get_returns_the_old_value_whether_or_not_it_sets()
    {
        Assert.Equal(Nil, kv.Run("SET k v GET"));
        Assert.Equal(Bulk("v"), kv.Run("GET k"));
        Assert.Equal(Bulk("v"), kv.Run("SET k w GET"));
        Assert.Equal(Bulk("w"), kv.Run("SET k x NX GET"));
        Assert.Equal(Bulk("w"), kv.Run("GET k"));
        Assert.Equal(Nil, kv.Run("SET other x XX GET"));
        Assert.Equal(Nil, kv.Run("GET other"));
        Assert.Equal(Nil, kv.Run("SET new x NX GET"));
        Assert.Equal(Bulk("x"), kv.Run("GET new"));
        Assert.Equal(Bulk("w"), kv.Run("SET k y XX GET"));
        Assert.Equal(Bulk("y"), kv.Run("GET k"));
    }

    [Theory]
    [InlineData("SET k v NX XX")]
    [InlineData("SET k v XX NX")]
    [InlineData("SET k v EX 10 PX 100")]
    [InlineData("SET k v PX 100 EX 10")]
    [InlineData("SET k v EX 10 EXAT 100")]
    [InlineData("SET k v PXAT 100 EX 10")]
    [InlineData("SET k v EX 10 KEEPTTL")]
    [InlineData("SET k v KEEPTTL PX 10")]
    [InlineData("SET k v EX")]
    [InlineData("SET k v NX EX")]
    [InlineData("SET k v FOO")]
    [InlineData("SET k v NX FOO")]
    [InlineData("SET k v EX abc NX XX")]
    [InlineData("SET k v GETX")]
    [InlineData("SET k v EX 10 20")]
    public void Set_option_syntax_errors(string line)
    {
        Assert.Equal(Err("ERR syntax error"), kv.Run(line));
        Assert.Equal(Nil, kv.Run("GET k"));
    }

    [Theory]
    [InlineData("SET k v EX 0", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v EX -5", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v PX 0", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v EXAT 0", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v PXAT -1", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v EX 9223372036854775807", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v EX 9223372036854775", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v PX 9223372036854775807", "ERR invalid expire time in 'set' command")]
    [InlineData("SET k v EX abc", "ERR value is not an integer or out of range")]
    [InlineData("SET k v PX 1.5", "ERR value is not an integer or out of range")]
    [InlineData("SET k v EX 9223372036854775808", "ERR value is not an integer or out of range")]
    [InlineData("SET k v NX EX 0", "ERR invalid expire time in 'set' command")]
    public void Set_expire_time_errors(string line, string error)
    {
        kv.Run("SET k old");
        Assert.Equal(Err(error), kv.Run(line));
        Assert.Equal(Bulk("old"), kv.Run("GET k"));
    }

    [Fact]
    public void Set_with_ex_px_exat_pxat()
    {
        kv.Clock = 1_000_000;
        Assert.Equal(Ok, kv.Run("SET a v EX 10"));
        Assert.Equal(Ok, kv.Run("SET b v px 1500"));
        Assert.Equal(Ok, kv.Run("SET c v EXAT 1010"));
        Assert.Equal(Ok, kv.Run("SET d v PXAT 1002000"));
        Assert.Equal(Int(10_000), kv.Run("PTTL a"));
        Assert.Equal(Int(1_500), kv.Run("PTTL b"));
        Assert.Equal(Int(10_000), kv.Run("PTTL c"));
        Assert.Equal(Int(2_000), kv.Run("PTTL d"));
        Assert.Equal(Ok, kv.Run("SET e v EX 10 EX 20"));
        Assert.Equal(Int(20), kv.Run("TTL e"));
    }

    [Fact]
    public void Set_with_a_time_already_past_leaves_no_key()
    {
        kv.Clock = 5_000_000;
        kv.Run("SET k v");
        Assert.Equal(Ok, kv.Run("SET k w PXAT 4000000"));
        Assert.Equal(Nil, kv.Run("GET k"));
        kv.Run("SET k old");
        Assert.Equal(Bulk("old"), kv.Run("SET k x EXAT 1 GET"));
        Assert.Equal(Int(0), kv.Run("EXISTS k"));
    }

    [Fact]
    public void Set_drops_the_expiry_unless_keepttl()
    {
        kv.Run("SET k v EX 100");
        Assert.Equal(Ok, kv.Run("SET k w KEEPTTL"));
        Assert.Equal(Int(100), kv.Run("TTL k"));
        Assert.Equal(Bulk("w"), kv.Run("SET k x XX KEEPTTL GET"));
        Assert.Equal(Int(100), kv.Run("TTL k"));
        Assert.Equal(Ok, kv.Run("SET k y"));
        Assert.Equal(Int(-1), kv.Run("TTL k"));
        Assert.Equal(Ok, kv.Run("SET new v KEEPTTL"));
        Assert.Equal(Int(-1), kv.Run("TTL new"));
    }

    [Fact]
    public void Keys_expire_when_the_time_passes_their_expiry()
    {
        kv.Clock = 1_000;
        kv.Run("SET k v PX 100");
        kv.Clock = 1_100;
        Assert.Equal(Bulk("v"), kv.Run("GET k")); // Redis: expired only when now > expiry
        Assert.Equal(Int(0), kv.Run("PTTL k"));
        kv.Clock = 1_101;
        Assert.Equal(Nil, kv.Run("GET k"));
        Assert.Equal(Int(-2), kv.Run("PTTL k"));
        Assert.Equal(Ok, kv.Run("SET k w NX"));
        Assert.Equal(Int(-1), kv.Run("PTTL k"));
    }

    [Fact]
    public void The_service_time_never_goes_back()
    {
        kv.Clock = 10_000;
        kv.Run("SET k v PX 100");
        kv.Clock = 10_200;
        Assert.Equal(Int(0), kv.Run("EXISTS k"));
        Assert.Equal(10_200, kv.Service.Now);

        // A new primary whose clock is behind: the key stays gone, and new expiries count from 10200.
        kv.Clock = 9_000;
        Assert.Equal(Nil, kv.Run("GET k"));
        Assert.Equal(10_200, kv.Service.Now);
        kv.Run("SET j v PX 500");
        Assert.Equal(Int(500), kv.Run("PTTL j"));
        kv.Clock = 10_300;
        Assert.Equal(Int(400), kv.Run("PTTL j"));
    }

    [Fact]
    public void Without_a_prediction_the_time_stays()
    {
        kv.Clock = 50_000;
        kv.Run("SET k v PX 10");
        Assert.Equal(Bulk("v"), Of(kv.Service.Execute(KeyValueOperation.Encode("GET", "k"), [])));
        Assert.Equal(Bulk("v"), Of(kv.Service.Execute(KeyValueOperation.Encode("GET", "k"), [1, 2, 3])));
        Assert.Equal(50_000, kv.Service.Now);
    }

    [Fact]
    public void Del_counts_the_keys_it_removed()
    {
        kv.Run("MSET a 1 b 2 c 3");
        Assert.Equal(Int(2), kv.Run("DEL a b x"));
        Assert.Equal(Int(1), kv.Run("DEL c c"));
        Assert.Equal(Int(0), kv.Run("DEL a"));
        Assert.Equal(Err("ERR wrong number of arguments for 'del' command"), kv.Run("DEL"));
        kv.Run("SET e v PX 1");
        kv.Clock += 2;
        Assert.Equal(Int(0), kv.Run("DEL e"));
    }

    [Fact]
    public void Exists_counts_repeats()
    {
        kv.Run("SET a 1");
        Assert.Equal(Int(2), kv.Run("EXISTS a a"));
        Assert.Equal(Int(1), kv.Run("EXISTS a b"));
        Assert.Equal(Int(0), kv.Run("EXISTS b"));
    }

    [Fact]
    public void Mget_and_mset()
    {
        Assert.Equal(Ok, kv.Run("MSET a 1 b 2 a 3"));
        Assert.Equal("*3\r\n$1\r\n3\r\n$-1\r\n$1\r\n2\r\n", kv.Run("MGET a x b"));
        Assert.Equal("*1\r\n$-1\r\n", kv.Run("MGET x"));
        Assert.Equal(Err("ERR wrong number of arguments for 'mset' command"), kv.Run("MSET a 1 b"));
        Assert.Equal(Err("ERR wrong number of arguments for 'mset' command"), kv.Run("MSET a"));
        Assert.Equal(Err("ERR wrong number of arguments for 'mget' command"), kv.Run("MGET"));
        kv.Run("SET t v EX 100");
        Assert.Equal(Ok, kv.Run("MSET t w"));
        Assert.Equal(Int(-1), kv.Run("TTL t"));
    }

    [Fact]
    public void Getdel()
    {
        kv.Run("SET k v EX 100");
        Assert.Equal(Bulk("v"), kv.Run("GETDEL k"));
        Assert.Equal(Nil, kv.Run("GETDEL k"));
        Assert.Equal(Nil, kv.Run("GET k"));
        Assert.Equal(0, kv.Service.ExpiringCount);
    }

    [Fact]
    public void Strlen_and_append()
    {
        Assert.Equal(Int(0), kv.Run("STRLEN k"));
        Assert.Equal(Int(5), kv.Run("APPEND k hello"));
        Assert.Equal(Int(11), kv.Do("APPEND", "k", " world"));
        Assert.Equal(Bulk("hello world"), kv.Run("GET k"));
        Assert.Equal(Int(11), kv.Run("STRLEN k"));
        Assert.Equal(Int(11), kv.Do("APPEND", "k", ""));
        Assert.Equal(Int(0), kv.Do("APPEND", "e", ""));
        Assert.Equal("$0\r\n\r\n", kv.Run("GET e"));
    }

    [Fact]
    public void Append_keeps_the_expiry()
    {
        kv.Run("SET k a EX 100");
        kv.Run("APPEND k b");
        kv.Run("APPEND k c");
        Assert.Equal(Int(100), kv.Run("TTL k"));
        Assert.Equal(Bulk("abc"), kv.Run("GET k"));
    }

    [Fact]
    public void Many_appends_build_the_right_value()
    {
        var expected = new System.Text.StringBuilder();
        for (var i = 0; i < 2000; i++)
        {
            var piece = $"{i},";
            expected.Append(piece);
            Assert.Equal(Int(expected.Length), kv.Do("APPEND", "k", piece));
            if (i % 500 == 0)
            {
                Assert.Equal(Ok, kv.Do("SET", "other", piece)); // other keys unaffected
            }
        }

        Assert.Equal(Bulk(expected.ToString()), kv.Run("GET k"));
        Assert.Equal(Int(expected.Length), kv.Run("STRLEN k"));

        // A value grown by APPEND checkpoints exactly, and can be overwritten.
        var copy = new Kv();
        copy.Service.RestoreCheckpoint(kv.Service.WriteCheckpoint());
        Assert.Equal(kv.Service.WriteCheckpoint(), copy.Service.WriteCheckpoint());
        Assert.Equal(Bulk(expected.ToString()), copy.Run("GET k"));
        Assert.Equal(Ok, kv.Run("SET k short"));
        Assert.Equal(Bulk("short"), kv.Run("GET k"));
    }

    [Fact]
    public void Append_refuses_to_grow_past_the_limit()
    {
        var small = new Kv(options: new KeyValueOptions { MaxValueLength = 10 });
        Assert.Equal(Int(6), small.Run("APPEND k abcdef"));
        Assert.Equal(Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"), small.Run("APPEND k ghijk"));
        Assert.Equal(Int(10), small.Run("APPEND k ghij"));
        Assert.Equal(Err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"), small.Run("APPEND n 01234567890"));
    }

    [Fact]
    public void Dbsize_counts_live_keys_only()
    {
        Assert.Equal(Int(0), kv.Run("DBSIZE"));
        kv.Run("MSET a 1 b 2 c 3");
        for (var i = 0; i < 50; i++)
        {
            kv.Run($"SET e{i} v PX {10 + i}");
        }

        Assert.Equal(Int(53), kv.Run("DBSIZE"));
        kv.Clock += 1000;
        Assert.Equal(Int(3), kv.Run("DBSIZE"));
        Assert.Equal(3, kv.Service.Count);
        Assert.Equal(Err("ERR wrong number of arguments for 'dbsize' command"), kv.Run("DBSIZE x"));
    }

    [Fact]
    public void The_sweep_removes_expired_keys_a_few_per_operation()
    {
        for (var i = 0; i < 100; i++)
        {
            kv.Run($"SET e{i} v PX 10");
        }

        kv.Clock += 100;
        kv.Run("GET x");
        Assert.Equal(80, kv.Service.Count); // 20 per operation by default
        kv.Run("GET x");
        kv.Run("GET x");
        kv.Run("GET x");
        kv.Run("GET x");
        Assert.Equal(0, kv.Service.Count);
        Assert.Equal(0, kv.Service.ExpiringCount);
    }

    [Fact]
    public void Setnx_sets_only_a_missing_key()
    {
        Assert.Equal(Int(1), kv.Run("SETNX k v"));
        Assert.Equal(Int(0), kv.Run("SETNX k w"));
        Assert.Equal(Bulk("v"), kv.Run("GET k"));
        kv.Run("SET e x PX 10");
        kv.Clock += 11;
        Assert.Equal(Int(1), kv.Run("SETNX e y"));
        Assert.Equal(Int(-1), kv.Run("TTL e"));
    }

    [Fact]
    public void Setex_and_psetex_set_with_an_expiry()
    {
        Assert.Equal(Ok, kv.Run("SETEX k 10 v"));
        Assert.Equal(Bulk("v"), kv.Run("GET k"));
        Assert.Equal(Int(10_000), kv.Run("PTTL k"));
        Assert.Equal(Ok, kv.Run("PSETEX k 1500 w"));
        Assert.Equal(Int(1500), kv.Run("PTTL k"));
        kv.Clock += 1501;
        Assert.Equal(Nil, kv.Run("GET k"));
    }

    [Theory]
    [InlineData("SETEX k 0 v", "ERR invalid expire time in 'setex' command")]
    [InlineData("SETEX k -5 v", "ERR invalid expire time in 'setex' command")]
    [InlineData("PSETEX k 0 v", "ERR invalid expire time in 'psetex' command")]
    [InlineData("SETEX k 9223372036854775807 v", "ERR invalid expire time in 'setex' command")]
    [InlineData("SETEX k ten v", "ERR value is not an integer or out of range")]
    [InlineData("PSETEX k 1.5 v", "ERR value is not an integer or out of range")]
    public void Setex_errors(string line, string error)
    {
        Assert.Equal(Err(error), kv.Run(line));
        Assert.Equal(Nil, kv.Run("GET k"));
    }

    [Fact]
    public void Getset_returns_the_old_value_and_drops_the_expiry()
    {
        Assert.Equal(Nil, kv.Run("GETSET k v"));
        Assert.Equal(Ok, kv.Run("SET k w EX 100"));
        Assert.Equal(Bulk("w"), kv.Run("GETSET k x"));
        Assert.Equal(Bulk("x"), kv.Run("GET k"));
        Assert.Equal(Int(-1), kv.Run("TTL k"));
    }

    [Fact]
    public void Unlink_is_del()
    {
        kv.Run("MSET a 1 b 2");
        Assert.Equal(Int(2), kv.Run("UNLINK a b a missing"));
        Assert.Equal(Int(0), kv.Run("EXISTS a b"));
    }

    [Theory]
    [InlineData("GET", "get")]
    [InlineData("GET a b", "get")]
    [InlineData("SET k", "set")]
    [InlineData("EXISTS", "exists")]
    [InlineData("STRLEN", "strlen")]
    [InlineData("APPEND k", "append")]
    [InlineData("GETDEL", "getdel")]
    [InlineData("GETDEL a b", "getdel")]
    [InlineData("SETNX k", "setnx")]
    [InlineData("SETEX k 10", "setex")]
    [InlineData("PSETEX k 10 v x", "psetex")]
    [InlineData("GETSET k", "getset")]
    [InlineData("UNLINK", "unlink")]
    public void Wrong_argument_counts(string line, string name)
    {
        Assert.Equal(Err($"ERR wrong number of arguments for '{name}' command"), kv.Run(line));
    }
}
