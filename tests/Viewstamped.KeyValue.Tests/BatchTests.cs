using static Viewstamped.KeyValue.Tests.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>A batch: a run of commands as one log entry, executed in order, replies concatenated.</summary>
public sealed class BatchTests
{
    private readonly Kv kv = new();

    private string RunBatch(params string[][] commands)
    {
        var batch = KeyValueOperation.EncodeBatch(commands.Select(c => KeyValueOperation.Encode(c)).ToList());
        return Of(kv.Service.Execute(batch, kv.Service.Predict(batch)));
    }

    [Fact]
    public void Executes_in_order_and_concatenates_the_replies()
    {
        kv.Run("SET text abc");
        var replies = RunBatch(["SET", "k", "1"], ["INCR", "k"], ["INCR", "text"], ["GET", "k"], ["SET", "e", "v", "PX", "100"], ["PTTL", "e"]);
        Assert.Equal(Ok + Int(2) + Err("ERR value is not an integer or out of range") + Bulk("2") + Ok + Int(100), replies);
        Assert.Equal(Bulk("2"), kv.Run("GET k"));
    }

    [Fact]
    public void A_batch_leaves_the_same_state_as_its_commands_one_by_one()
    {
        var single = new Kv();
        string[][] commands = [["MSET", "a", "1", "b", "2"], ["APPEND", "a", "x"], ["DEL", "b"], ["SETEX", "c", "5", "v"], ["GETSET", "a", "y"]];
        foreach (var command in commands)
        {
            single.Do(command);
        }

        RunBatch(commands);
        Assert.Equal(single.Service.WriteCheckpoint(), kv.Service.WriteCheckpoint());
    }

    [Fact]
    public void Malformed_or_nested_batches_are_refused()
    {
        var inner = KeyValueOperation.EncodeBatch([KeyValueOperation.Encode("SET", "k", "v")]);
        Assert.Throws<ArgumentException>(() => KeyValueOperation.EncodeBatch([inner]));
        Assert.Throws<ArgumentException>(() => KeyValueOperation.EncodeBatch([[]]));

        // A nested batch made by hand gets an error of its own; the rest of the batch runs.
        byte[] nested = [(byte)CommandCode.Batch, 2, (byte)inner.Length, .. inner, 6, (byte)CommandCode.Set, 2, 1, (byte)'n', 1, (byte)'1'];
        Assert.Equal(Err("ERR malformed operation") + Ok, Of(kv.Service.Execute(nested, [])));
        Assert.Equal(Nil, kv.Run("GET k"));

        // A truncated batch executes nothing.
        var truncated = KeyValueOperation.EncodeBatch([KeyValueOperation.Encode("SET", "t", "v"), KeyValueOperation.Encode("SET", "u", "v")])[..^1];
        Assert.Equal(Err("ERR malformed operation"), Of(kv.Service.Execute(truncated, [])));
        Assert.Equal(Nil, kv.Run("GET t"));
        Assert.False(KeyValueOperation.TryDecode(inner, out _));
    }
}
