using static Viewstamped.KeyValue.Tests.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>INCR/DECR and friends, EXPIRE/TTL/PERSIST, and CAS.</summary>
public sealed class CounterAndExpiryCommandTests
{
    private const string NotInteger = "ERR value is not an integer or out of range";
    private const string Overflow = "ERR increment or decrement would overflow";

    private readonly Kv kv = new();

    [Fact]
    public void Incr_and_decr()
    {
        Assert.Equal(Int(1), kv.Run("INCR n"));
        Assert.Equal(Int(2), kv.Run("incr n"));
        Assert.Equal(Int(1), kv.Run("DECR n"));
        Assert.Equal(Int(-1), kv.Run("DECR m"));
        Assert.Equal(Int(11), kv.Run("INCRBY n 10"));
        Assert.Equal(Int(-9), kv.Run("DECRBY n 20"));
        Assert.Equal(Int(-4), kv.Run("INCRBY n 5"));
        Assert.Equal(Int(1), kv.Run("DECRBY n -5"));
        Assert.Equal(Bulk("1"), kv.Run("GET n"));
        kv.Run("SET n 100");
        Assert.Equal(Int(101), kv.Run("INCR n"));
        kv.Run("SET z 0");
        Assert.Equal(Int(-1), kv.Run("DECR z"));
        Assert.Equal(Bulk("-1"), kv.Run("GET z"));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("01")]
    [InlineData("+1")]
    [InlineData("1.5")]
    [InlineData("9223372036854775808")]
    public void Incr_of_a_non_integer_value(string value)
    {
        kv.Do("SET", "k", value);
        Assert.Equal(Err(NotInteger), kv.Run("INCR k"));
        Assert.Equal(Err(NotInteger), kv.Run("DECRBY k 1"));
        Assert.Equal(Bulk(value), kv.Run("GET k"));
    }

    [Theory]
    [InlineData("INCRBY k abc")]
    [InlineData("INCRBY k 1.0")]
    [InlineData("DECRBY k 99999999999999999999")]
    [InlineData("INCRBY k -9223372036854775809")]
    public void Incrby_with_a_non_integer_increment(string line)
    {
        Assert.Equal(Err(NotInteger), kv.Run(line));
        Assert.Equal(Nil, kv.Run("GET k"));
    }

    [Fact]
    public void Counters_refuse_to_overflow()
    {
        kv.Run("SET k 9223372036854775807");
        Assert.Equal(Err(Overflow), kv.Run("INCR k"));
        Assert.Equal(Err(Overflow), kv.Run("INCRBY k 1"));
        Assert.Equal(Err(Overflow), kv.Run("DECRBY k -1"));
        Assert.Equal(Int(long.MaxValue - 1), kv.Run("DECR k"));

        kv.Run("SET k -9223372036854775808");
        Assert.Equal(Err(Overflow), kv.Run("DECR k"));
        Assert.Equal(Err(Overflow), kv.Run("INCRBY k -1"));
        Assert.Equal(Int(-1), kv.Run("INCRBY k 9223372036854775807"));

        kv.Run("SET k 0");
        Assert.Equal(Err("ERR decrement would overflow"), kv.Run("DECRBY k -9223372036854775808"));
        Assert.Equal(Int(long.MinValue), kv.Run("INCRBY k -9223372036854775808"));
        Assert.Equal(Bulk("-9223372036854775808"), kv.Run("GET k"));
    }

    [Fact]
    public void Incr_keeps_the_expiry()
    {
        kv.Run("SET k 5 EX 100");
        Assert.Equal(Int(6), kv.Run("INCR k"));
        Assert.Equal(Int(100), kv.Run("TTL k"));
        Assert.Equal(Int(1006), kv.Run("INCRBY k 1000"));
        Assert.Equal(Int(100), kv.Run("TTL k"));
    }

    [Theory]
    [InlineData("INCR", "incr")]
    [InlineData("INCR a b", "incr")]
    [InlineData("INCRBY a", "incrby")]
    [InlineData("DECR", "decr")]
    [InlineData("DECRBY a 1 2", "decrby")]
    public void Counter_argument_counts(string line, string name)
    {
        Assert.Equal(Err($"ERR wrong number of arguments for '{name}' command"), kv.Run(line));
    }

    [Fact]
    public void Expire_ttl_and_persist()
    {
        Assert.Equal(Int(0), kv.Run("EXPIRE k 10"));
        Assert.Equal(Int(-2), kv.Run("TTL k"));
        kv.Run("SET k v");
        Assert.Equal(Int(-1), kv.Run("TTL k"));
        Assert.Equal(Int(-1), kv.Run("PTTL k"));
        Assert.Equal(Int(1), kv.Run("EXPIRE k 10"));
        Assert.Equal(Int(10), kv.Run("TTL k"));
        Assert.Equal(Int(10_000), kv.Run("PTTL k"));
        Assert.Equal(Int(1), kv.Run("PEXPIRE k 1499"));
        Assert.Equal(Int(1), kv.Run("TTL k"));
        Assert.Equal(Int(1), kv.Run("PEXPIRE k 1500"));
        Assert.Equal(Int(2), kv.Run("TTL k"));
        Assert.Equal(Int(1), kv.Run("PERSIST k"));
        Assert.Equal(Int(0), kv.Run("PERSIST k"));
        Assert.Equal(Int(0), kv.Run("PERSIST missing"));
        Assert.Equal(Int(-1), kv.Run("TTL k"));
        Assert.Equal(0, kv.Service.ExpiringCount);
    }

    [Fact]
    public void Expire_in_the_past_deletes()
    {
        kv.Run("SET a v");
        kv.Run("SET b v");
        Assert.Equal(Int(1), kv.Run("EXPIRE a 0"));
        Assert.Equal(Int(1), kv.Run("PEXPIRE b -100"));
        Assert.Equal(Int(0), kv.Run("EXISTS a b"));
        Assert.Equal(0, kv.Service.Count);
    }

    [Fact]
    public void Expire_options()
    {
        kv.Run("SET k v");
        Assert.Equal(Int(0), kv.Run("EXPIRE k 100 XX"));
        Assert.Equal(Int(0), kv.Run("EXPIRE k 100 GT"));
        Assert.Equal(Int(1), kv.Run("EXPIRE k 100 LT"));
        Assert.Equal(Int(0), kv.Run("EXPIRE k 50 NX"));
        Assert.Equal(Int(0), kv.Run("EXPIRE k 200 LT"));
        Assert.Equal(Int(0), kv.Run("EXPIRE k 100 GT"));
        Assert.Equal(Int(1), kv.Run("EXPIRE k 200 gt"));
        Assert.Equal(Int(200), kv.Run("TTL k"));
        Assert.Equal(Int(1), kv.Run("EXPIRE k 50 xx lt"));
        Assert.Equal(Int(50), kv.Run("TTL k"));
        kv.Run("PERSIST k");
        Assert.Equal(Int(1), kv.Run("EXPIRE k 30 NX"));
        Assert.Equal(Int(30), kv.Run("TTL k"));
    }

    [Theory]
    [InlineData("EXPIRE k 10 NX XX", "ERR NX and XX, GT or LT options at the same time are not compatible")]
    [InlineData("EXPIRE k 10 GT NX", "ERR NX and XX, GT or LT options at the same time are not compatible")]
    [InlineData("EXPIRE k 10 GT LT", "ERR GT and LT options at the same time are not compatible")]
    [InlineData("EXPIRE k 10 FOO", "ERR Unsupported option FOO")]
    [InlineData("EXPIRE k abc", NotInteger)]
    [InlineData("EXPIRE k 10 FOO NX XX", "ERR Unsupported option FOO")]
    [InlineData("EXPIRE k 9223372036854775807", "ERR invalid expire time in 'expire' command")]
    [InlineData("EXPIRE k -9223372036854776", "ERR invalid expire time in 'expire' command")]
    [InlineData("PEXPIRE k 9223372036854775807", "ERR invalid expire time in 'pexpire' command")]
    [InlineData("EXPIRE k", "ERR wrong number of arguments for 'expire' command")]
    [InlineData("TTL", "ERR wrong number of arguments for 'ttl' command")]
    [InlineData("PERSIST a b", "ERR wrong number of arguments for 'persist' command")]
    public void Expire_errors(string line, string error)
    {
        kv.Run("SET k v");
        Assert.Equal(Err(error), kv.Run(line));
        Assert.Equal(Int(-1), kv.Run("TTL k"));
    }

    [Fact]
    public void Cas_swaps_only_an_equal_value()
    {
        Assert.Equal(Int(0), kv.Run("CAS k a b"));
        Assert.Equal(Nil, kv.Run("GET k"));
        kv.Run("SET k a");
        Assert.Equal(Int(0), kv.Run("CAS k x b"));
        Assert.Equal(Bulk("a"), kv.Run("GET k"));
        Assert.Equal(Int(1), kv.Run("CAS k a b"));
        Assert.Equal(Bulk("b"), kv.Run("GET k"));
        Assert.Equal(Int(0), kv.Run("CAS k a c"));
        Assert.Equal(Int(1), kv.Do("CAS", "k", "b", ""));
        Assert.Equal(Int(1), kv.Do("CAS", "k", "", "longer value"));
        Assert.Equal(Bulk("longer value"), kv.Run("GET k"));
        Assert.Equal(Int(0), kv.Do("CAS", "k", "longer valuE", "x"));
    }

    [Fact]
    public void Cas_compares_binary_values()
    {
        byte[] value = [0, 1, 13, 10, 0];
        kv.Execute(new RespCommand([Bytes("SET"), Bytes("k"), value]));
        Assert.Equal(Int(0), Of(kv.Execute(new RespCommand([Bytes("CAS"), Bytes("k"), value[..4], Bytes("x")]))));
        Assert.Equal(Int(1), Of(kv.Execute(new RespCommand([Bytes("CAS"), Bytes("k"), value, Bytes("x")]))));
    }

    [Fact]
    public void Cas_expiry_options()
    {
        kv.Run("SET k a EX 100");
        Assert.Equal(Int(1), kv.Run("CAS k a b"));
        Assert.Equal(Int(-1), kv.Run("TTL k"));
        Assert.Equal(Int(1), kv.Run("CAS k b c EX 50"));
        Assert.Equal(Int(50), kv.Run("TTL k"));
        Assert.Equal(Int(1), kv.Run("CAS k c d KEEPTTL"));
        Assert.Equal(Int(50), kv.Run("TTL k"));
        Assert.Equal(Int(1), kv.Run("CAS k d e PX 1234"));
        Assert.Equal(Int(1234), kv.Run("PTTL k"));
        Assert.Equal(Int(1), kv.Run("CAS k e f PXAT 1"));
        Assert.Equal(Int(0), kv.Run("EXISTS k"));

        kv.Run("SET t a PX 10");
        kv.Clock += 11;
        Assert.Equal(Int(0), kv.Run("CAS t a b"));
    }

    [Theory]
    [InlineData("CAS k a", "ERR wrong number of arguments for 'cas' command")]
    [InlineData("CAS k", "ERR wrong number of arguments for 'cas' command")]
    [InlineData("CAS k a b NX", "ERR syntax error")]
    [InlineData("CAS k a b GET", "ERR syntax error")]
    [InlineData("CAS k a b EX", "ERR syntax error")]
    [InlineData("CAS k a b EX 1 PX 1", "ERR syntax error")]
    [InlineData("CAS k a b EX 0", "ERR invalid expire time in 'cas' command")]
    [InlineData("CAS k a b EX x", NotInteger)]
    public void Cas_errors(string line, string error)
    {
        kv.Run("SET k a");
        Assert.Equal(Err(error), kv.Run(line));
        Assert.Equal(Bulk("a"), kv.Run("GET k"));
    }
}
