using Viewstamped.Messages;

namespace Viewstamped.Benchmarks.Storage;

/// <summary>Log entries whose bytes are a function of the op, so a reader can check every one.</summary>
internal static class Entries
{
    /// <summary>Op <paramref name="op"/>'s entry: operation byte i is (op * 31 + i) mod 256, client and request number are the op.</summary>
    public static LogEntry Make(ulong op, int size)
    {
        var operation = new byte[size];
        for (var i = 0; i < size; i++)
        {
            operation[i] = (byte)((op * 31) + (ulong)i);
        }

        return new LogEntry(new OpNumber(op), new View(1), EntryKind.Operation, new ClientId(op), op, operation, []);
    }
}
