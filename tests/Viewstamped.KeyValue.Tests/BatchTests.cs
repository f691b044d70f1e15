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

    [Fact]
    public void Runs_of_operations_make_the_same_batch_as_the_operations_themselves()
    {
        byte[][] operations = [KeyValueOperation.Encode("SET", "k", new string('v', 200)), KeyValueOperation.Encode("GET", "k"), KeyValueOperation.Encode("INCR", "n")];
        var first = new OperationRun();
        var second = new OperationRun();
        first.Add(operations[0]);
        first.Add(operations[1]);
        second.Add(operations[2]);
        Assert.Equal(KeyValueOperation.EncodeBatch(operations), KeyValueOperation.EncodeBatch([first, second, new OperationRun()]));
        Assert.Equal(3, first.Count + second.Count);
        Assert.Equal(operations.Sum(o => OperationRun.ItemLength(o.Length)), first.Length + second.Length);

        // A single operation in all goes alone, not wrapped in a batch.
        Assert.Equal(operations[2], KeyValueOperation.EncodeBatch([new OperationRun(), second]));
        Assert.Throws<ArgumentException>(() => KeyValueOperation.EncodeBatch([new OperationRun()]));
        Assert.Throws<ArgumentException>(() => second.Add(KeyValueOperation.EncodeBatch(operations)));

        // A cleared run is empty and reusable.
        first.Clear();
        Assert.Equal(0, first.Length);
        first.Add(operations[1]);
        Assert.Equal(operations[1], KeyValueOperation.EncodeBatch([first]));
    }
}
