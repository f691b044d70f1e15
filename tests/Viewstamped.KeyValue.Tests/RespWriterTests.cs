using System.Buffers;

namespace Viewstamped.KeyValue.Tests;

public sealed class RespWriterTests
{
    private static string Write(Action<RespWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new RespWriter(buffer));
        return Text.Of(buffer.WrittenSpan);
    }

    [Fact]
    public void Writes_every_type_as_golden_bytes()
    {
        Assert.Equal("+OK\r\n", Write(w => w.WriteSimpleString("OK")));
        Assert.Equal("+OK\r\n", Write(w => w.WriteSimpleString("OK"u8)));
        Assert.Equal("-ERR syntax error\r\n", Write(w => w.WriteError("ERR syntax error")));
        Assert.Equal("-WRONGTYPE x\r\n", Write(w => w.WriteError("WRONGTYPE x"u8)));
        Assert.Equal(":0\r\n", Write(w => w.WriteInteger(0)));
        Assert.Equal(":-1\r\n", Write(w => w.WriteInteger(-1)));
        Assert.Equal(":9223372036854775807\r\n", Write(w => w.WriteInteger(long.MaxValue)));
        Assert.Equal(":-9223372036854775808\r\n", Write(w => w.WriteInteger(long.MinValue)));
        Assert.Equal("$5\r\nhello\r\n", Write(w => w.WriteBulkString("hello"u8)));
        Assert.Equal("$0\r\n\r\n", Write(w => w.WriteBulkString([])));
        Assert.Equal("$4\r\na\r\nb\r\n", Write(w => w.WriteBulkString("a\r\nb"u8)));
        Assert.Equal("$2\r\n\u00c3\u00a9\r\n", Write(w => w.WriteBulkString("é")));
        Assert.Equal("$-1\r\n", Write(w => w.WriteNullBulkString()));
        Assert.Equal("*0\r\n", Write(w => w.WriteArrayHeader(0)));
        Assert.Equal("*-1\r\n", Write(w => w.WriteNullArray()));
        Assert.Equal("*2\r\n$1\r\na\r\n:7\r\n", Write(w =>
        {
            w.WriteArrayHeader(2);
            w.WriteBulkString("a"u8);
            w.WriteInteger(7);
        }));
    }

    [Fact]
    public void Simple_strings_and_errors_cannot_break_the_line()
    {
        Assert.Equal("-ERR a  b\r\n", Write(w => w.WriteError("ERR a\r\nb")));
        Assert.Equal("+a b\r\n", Write(w => w.WriteSimpleString("a\nb"u8)));
        Assert.Equal("-ERR x y\r\n", Text.Of(Resp.Error("ERR x\ry")));
    }

    [Fact]
    public void Array_writer_rejects_negative_counts()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Write(w => w.WriteArrayHeader(-1)));
    }

    [Fact]
    public void Byte_array_helpers_match_the_writer()
    {
        Assert.Equal("+OK\r\n", Text.Of(Resp.Ok));
        Assert.Equal("+PONG\r\n", Text.Of(Resp.Pong));
        Assert.Equal("$-1\r\n", Text.Of(Resp.NullBulkString));
        Assert.Equal("*-1\r\n", Text.Of(Resp.NullArray));
        Assert.Equal("*0\r\n", Text.Of(Resp.EmptyArray));
        Assert.Equal("+hi\r\n", Text.Of(Resp.SimpleString("hi")));
        Assert.Equal(":-42\r\n", Text.Of(Resp.Integer(-42)));
        Assert.Equal(":1234567890\r\n", Text.Of(Resp.Integer(1234567890)));
        Assert.Equal("$3\r\nabc\r\n", Text.Of(Resp.BulkString("abc")));
        Assert.Equal("$0\r\n\r\n", Text.Of(Resp.BulkString(ReadOnlySpan<byte>.Empty)));
        Assert.Equal("*3\r\n$1\r\na\r\n$-1\r\n$0\r\n\r\n", Text.Of(Resp.Array([[(byte)'a'], null, []])));
        Assert.Equal("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", Text.Of(RespCommand.FromStrings("GET", "k").ToResp()));
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1", 1L)]
    [InlineData("-1", -1L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    [InlineData("1234", 1234L)]
    public void Parses_canonical_integers(string text, long expected)
    {
        Assert.True(RespInteger.TryParse(Text.Bytes(text), out var value));
        Assert.Equal(expected, value);
        Assert.Equal(text, Text.Of(RespInteger.ToBytes(value)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("-0")]
    [InlineData("01")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("99999999999999999999")]
    [InlineData("000000000000000000001")]
    [InlineData("abc")]
    public void Rejects_non_canonical_integers(string text)
    {
        Assert.False(RespInteger.TryParse(Text.Bytes(text), out _));
    }

    [Theory]
    [InlineData("+OK\r\n")]
    [InlineData("+\r\n")]
    [InlineData("-ERR syntax error\r\n")]
    [InlineData(":-42\r\n")]
    [InlineData("$5\r\nhello\r\n")]
    [InlineData("$4\r\na\r\nb\r\n")]
    [InlineData("$0\r\n\r\n")]
    [InlineData("$-1\r\n")]
    [InlineData("*-1\r\n")]
    [InlineData("*0\r\n")]
    [InlineData("*3\r\n$1\r\na\r\n$-1\r\n*2\r\n:1\r\n+x\r\n")]
    public void Measures_the_first_value_so_concatenated_replies_split_again(string value)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(value + ":7\r\n");
        Assert.True(Resp.TryMeasure(bytes, out var length));
        Assert.Equal(value, Text.Of(bytes.AsSpan(0, length)));
        Assert.True(Resp.TryMeasure(bytes.AsSpan(0, length), out var alone)); // and at the very end of the bytes
        Assert.Equal(length, alone);
    }

    [Theory]
    [InlineData("")]
    [InlineData("+OK")]
    [InlineData("$5\r\nhel")]
    [InlineData("$5\r\nhelloXY")]
    [InlineData("$-2\r\n")]
    [InlineData(":abc\r\n")]
    [InlineData("*2\r\n:1\r\n")]
    [InlineData("*9999999\r\n:1\r\n")]
    [InlineData("?\r\n")]
    [InlineData("\r\n")]
    public void Refuses_to_measure_incomplete_or_malformed_values(string value)
    {
        Assert.False(Resp.TryMeasure(System.Text.Encoding.UTF8.GetBytes(value), out var length));
        Assert.Equal(0, length);
    }
}
