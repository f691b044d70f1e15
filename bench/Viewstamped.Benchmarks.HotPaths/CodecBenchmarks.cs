using BenchmarkDotNet.Attributes;
using Viewstamped.Codec;
using Viewstamped.Messages;

namespace Viewstamped.Benchmarks.HotPaths;

/// <summary>Encoding and decoding a Prepare of one entry and of 64 (a full batch), 100-byte operations.</summary>
[MemoryDiagnoser]
public class CodecBenchmarks
{
    private static readonly UInt128 Cluster = 0xc1;
    private readonly MessageCodec codec = new(Cluster);
    private Prepare prepare = null!;
    private byte[] frame = [];
    private byte[] buffer = [];

    [Params(1, 64)]
    public int Entries { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var entries = new LogEntry[Entries];
        for (var i = 0; i < entries.Length; i++)
        {
            var operation = new byte[100];
            operation.AsSpan().Fill((byte)i);
            entries[i] = new LogEntry(new OpNumber((ulong)i + 1), new View(1), EntryKind.Operation, new ClientId((UInt128)i + 7), 42, operation, new byte[8]);
        }

        prepare = new Prepare(OpNumber.Zero, entries) { Header = new MessageHeader(Cluster, 0, new View(1), new ReplicaIndex(1)) };
        frame = codec.Encode(prepare);
        buffer = new byte[frame.Length];
    }

    [Benchmark]
    public int EncodePrepare() => codec.Encode(prepare, buffer);

    [Benchmark]
    public Message? DecodePrepare() => codec.Decode(frame).Message;
}
