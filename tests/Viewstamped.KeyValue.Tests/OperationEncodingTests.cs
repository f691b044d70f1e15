namespace Viewstamped.KeyValue.Tests;

public sealed class OperationEncodingTests
{
    [Fact]
    public void Encodes_a_command_compactly_with_its_code()
    {
        var operation = KeyValueOperation.Encode("SET", "k", "v");
        Assert.Equal(new byte[] { (byte)CommandCode.Set, 2, 1, (byte)'k', 1, (byte)'v' }, operation);
        Assert.Equal(new byte[] { (byte)CommandCode.DbSize, 0 }, KeyValueOperation.Encode("dbsize"));
    }

    [Fact]
    public void Long_arguments_take_varint_lengths()
    {
        var value = new string('x', 300);
        var operation = KeyValueOperation.Encode("set", "k", value);
        Assert.Equal(new byte[] { (byte)CommandCode.Set, 2, 1, (byte)'k', 0xAC, 0x02 }, operation[..6]);
        Assert.Equal(306, operation.Length);
    }

    [Fact]
    public void Decodes_back_to_the_command()
    {
        var original = new RespCommand([Text.Bytes("MsEt"), [0, 1, 2], [], Text.Bytes("k2"), Text.Bytes("v2")]);
        Assert.True(KeyValueOperation.TryDecode(KeyValueOperation.Encode(original), out var decoded));
        Assert.Equal("mset", decoded.Name);
        Assert.Equal(original.Arguments.Skip(1), decoded.Arguments.Skip(1));
    }

    [Theory]
    [InlineData("PING")]
    [InlineData("AUTH")]
    [InlineData("FOO")]
    [InlineData("")]
    public void Only_replicated_commands_are_encoded(string name)
    {
        Assert.False(KeyValueOperation.TryEncode(RespCommand.FromStrings(name, "x"), out _));
        Assert.Throws<ArgumentException>(() => KeyValueOperation.Encode(name, "x"));
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 2 })]
    [InlineData(new byte[] { 2, 1 })]
    [InlineData(new byte[] { 2, 1, 2, 0 })]
    [InlineData(new byte[] { 2, 1, 1, 0, 9 })]
    [InlineData(new byte[] { 2, 0x80, 0 })]
    [InlineData(new byte[] { 2, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F })]
    [InlineData(new byte[] { 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x07 })]
    public void Malformed_operations_are_refused(byte[] operation)
    {
        Assert.False(KeyValueOperation.TryDecode(operation, out _));
        var kv = new Kv();
        Assert.Equal("-ERR malformed operation\r\n", Text.Of(kv.Service.Execute(operation, [])));
    }

    [Fact]
    public void An_unknown_operation_code_is_an_error_reply()
    {
        var kv = new Kv();
        Assert.Equal("-ERR unknown operation code 200\r\n", Text.Of(kv.Service.Execute([200, 0], [])));
        Assert.Equal("-ERR unknown operation code 0\r\n", Text.Of(kv.Service.Execute([0, 0], [])));
    }
}
