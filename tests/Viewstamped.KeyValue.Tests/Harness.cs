using System.Buffers;
using System.Text;

namespace Viewstamped.KeyValue.Tests;

/// <summary>A service with a clock the test sets, and commands and replies as text.</summary>
internal sealed class Kv
{
    public Kv(long clock = 1_000_000, KeyValueOptions? options = null)
    {
        Clock = clock;
        Service = new KeyValueService(() => Clock, options);
    }

    /// <summary>The primary's clock in Unix milliseconds.</summary>
    public long Clock { get; set; }

    public KeyValueService Service { get; }

    /// <summary>Executes a command as the replica would: predicted at the primary, then executed.</summary>
    public string Do(params string[] arguments) => Text.Of(Execute(RespCommand.FromStrings(arguments)));

    public byte[] Execute(RespCommand command)
    {
        var operation = KeyValueOperation.Encode(command);
        return Service.Execute(operation, Service.Predict(operation));
    }

    /// <summary>Splits on spaces: <c>Run("SET k v EX 10")</c>.</summary>
    public string Run(string line) => Do(line.Split(' '));
}

internal static class Text
{
    public static string Of(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static string Bulk(string value) => $"${Encoding.UTF8.GetByteCount(value)}\r\n{value}\r\n";

    public static string Int(long value) => $":{value}\r\n";

    public static string Err(string message) => $"-{message}\r\n";

    public const string Ok = "+OK\r\n";

    public const string Nil = "$-1\r\n";
}

/// <summary>A ReadOnlySequence made of the given pieces, each its own segment.</summary>
internal sealed class Segment : ReadOnlySequenceSegment<byte>
{
    private Segment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Sequence(params byte[][] pieces)
    {
        if (pieces.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(pieces[0], 0);
        var last = first;
        for (var i = 1; i < pieces.Length; i++)
        {
            var next = new Segment(pieces[i], last.RunningIndex + last.Memory.Length);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>Cuts <paramref name="data"/> at the given positions.</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        var pieces = new List<byte[]>();
        var from = 0;
        foreach (var cut in cuts.Order())
        {
            pieces.Add(data[from..cut]);
            from = cut;
        }

        pieces.Add(data[from..]);
        return Sequence([.. pieces]);
    }
}
