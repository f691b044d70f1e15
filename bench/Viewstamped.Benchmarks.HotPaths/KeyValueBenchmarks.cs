using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Viewstamped.KeyValue;

namespace Viewstamped.Benchmarks.HotPaths;

/// <summary>
/// Parsing a RESP SET with a 100-byte value — alone, into its operation as a server did it (a copy
/// per argument, then the operation), and in place into a connection's run as a server does it now —
/// and the key-value service executing it (a new key and an overwrite).
/// </summary>
[MemoryDiagnoser]
public class KeyValueBenchmarks
{
    private readonly RespReader reader = new();
    private readonly ConnectionState connection = new(1);
    private readonly OperationRun run = new();
    private Range[] ranges = new Range[8];
    private byte[] request = [];
    private byte[] overwrite = [];
    private byte[] insert = [];
    private int keyDigits;
    private KeyValueService service = null!;
    private readonly byte[] prediction = BitConverter.GetBytes(1_700_000_000_000L);
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        var value = new string('v', 100);
        request = Encoding.ASCII.GetBytes($"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000012345\r\n$100\r\n{value}\r\n");
        overwrite = KeyValueOperation.Encode("SET", "key:000000012345", value);
        insert = KeyValueOperation.Encode("SET", "new:000000000000", value);
        keyDigits = insert.AsSpan().IndexOf("000000000000"u8);
        service = new KeyValueService(() => 1_700_000_000_000L);
    }

    [Benchmark]
    public RespCommand? ParseSet()
    {
        var buffer = new ReadOnlySequence<byte>(request);
        reader.TryRead(ref buffer, out var command, out _);
        return command;
    }

    /// <summary>The general path: the arguments copied out, the command decided, its operation encoded.</summary>
    [Benchmark]
    public byte[] ParseSetToOperation()
    {
        var buffer = new ReadOnlySequence<byte>(request);
        reader.TryRead(ref buffer, out var command, out _);
        return connection.Process(command!).Operation;
    }

    /// <summary>The fast path: read in place and encoded straight into the connection's run.</summary>
    [Benchmark]
    public int ParseSetInPlaceIntoRun()
    {
        if (run.Count == 1024)
        {
            run.Clear();
        }

        var length = reader.TryReadWhole(request, ref ranges, out var count);
        if (connection.TryGetReplicated(request.AsSpan(0, length), ranges.AsSpan(0, count), out var code))
        {
            run.Add(code, request.AsSpan(0, length), ranges.AsSpan(0, count));
        }

        return run.Length;
    }

    [Benchmark]
    public byte[] ExecuteSetOverwrite() => service.Execute(overwrite, prediction);

    /// <summary>A SET of a key not held yet; the store starts over every 2^20 keys so it stays near a million keys.</summary>
    [Benchmark]
    public byte[] ExecuteSetNewKey()
    {
        if (++next == 1 << 20)
        {
            next = 0;
            service = new KeyValueService(() => 1_700_000_000_000L);
        }

        var digits = insert.AsSpan(keyDigits, 12);
        var n = next;
        for (var i = 11; i >= 0; i--, n /= 10)
        {
            digits[i] = (byte)('0' + (n % 10));
        }

        return service.Execute(insert, prediction);
    }
}
