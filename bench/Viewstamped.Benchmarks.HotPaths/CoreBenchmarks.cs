using BenchmarkDotNet.Attributes;
using Viewstamped.Messages;

namespace Viewstamped.Benchmarks.HotPaths;

/// <summary>Appending to the replica's in-memory log (with compaction, as a running replica does), and the client table.</summary>
[MemoryDiagnoser]
public class CoreBenchmarks
{
    private const int Sessions = 1024;
    private readonly byte[] operation = new byte[100];
    private readonly byte[] result = "+OK\r\n"u8.ToArray();
    private ReplicaLog log = null!;
    private ClientTable table = null!;
    private ClientId[] clients = [];
    private ulong op;
    private ulong logOp;
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        log = new ReplicaLog(OpNumber.Zero);
        table = new ClientTable(4096);
        clients = Enumerable.Range(1, Sessions).Select(i => new ClientId((UInt128)i * 0x9E3779B97F4A7C15UL)).ToArray();
        foreach (var client in clients)
        {
            table.Register(client, new OpNumber(++op));
        }
    }

    [Benchmark]
    public void LogAppend()
    {
        logOp++;
        log.Append(new LogEntry(new OpNumber(logOp), new View(1), EntryKind.Operation, clients[logOp % Sessions], logOp, operation, []));
        if (log.Count >= 4096)
        {
            log.CompactBefore(new OpNumber(logOp - 256));
        }
    }

    [Benchmark]
    public ClientSessionRecord? ClientTableFind() => table.Find(clients[next++ % Sessions]);

    [Benchmark]
    public void ClientTableRecord()
    {
        op++;
        var client = clients[next++ % Sessions];
        table.RecordExecution(client, op, new OpNumber(op), result);
    }
}
