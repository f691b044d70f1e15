using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Samples;

namespace Viewstamped.Simulation.Workload;

/// <summary>
/// The simulator's service: string registers on a handful of keys (get, put, append, compare-and-set)
/// plus the sample <see cref="Adder"/>. It audits itself for the checker: it keeps a hash of every
/// operation it executed and its result (equal on replicas that executed the same ops), and it notices
/// when an operation executes twice, since every operation carries its process and a sequence number
/// that only grows. Both are part of its checkpoint.
/// </summary>
public sealed class KeyValueService : ISnapshottingService, IAuditedService
{
    /// <summary>The number of keys the service holds.</summary>
    public const int KeysMax = 64;

    private const uint CheckpointMagic = 0x4B565331; // "KVS1"

    private static readonly byte[] CasSucceeded = [1];
    private static readonly byte[] CasFailed = [0];

    private readonly byte[][] values = new byte[KeysMax][];
    private readonly Dictionary<int, int> lastSequence = [];
    private readonly Adder adder = new();

    /// <summary>Creates an empty service: every key holds the empty string and the total is 0.</summary>
    public KeyValueService()
    {
        Array.Fill(values, []);
    }

    /// <inheritdoc />
    public ulong StateHash { get; private set; }

    /// <inheritdoc />
    public string? Violation { get; private set; }

    /// <summary>The number of operations executed since the last restore.</summary>
    public long Executed { get; private set; }

    /// <summary>The Adder's running total.</summary>
    public int Total => adder.Total;

    /// <summary>The value of <paramref name="key"/>, as bytes.</summary>
    public ReadOnlySpan<byte> ValueOf(int key) => values[key];

    /// <inheritdoc />
    public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction)
    {
        var command = new KvCommand.Decoded(operation);
        if (lastSequence.TryGetValue(command.Process, out var last) && command.Sequence <= last)
        {
            Violation ??= command.Sequence == last
                ? $"operation {command.Sequence} of process {command.Process} executed twice"
                : $"operation {command.Sequence} of process {command.Process} executed after its operation {last}";
        }
        else
        {
            lastSequence[command.Process] = command.Sequence;
        }

        var result = Apply(command, prediction);
        Executed++;
        StateHash = Mix(StateHash, XxHash3.HashToUInt64(operation), XxHash3.HashToUInt64(result));
        return result;
    }

    /// <inheritdoc />
    public byte[] WriteCheckpoint() => Capture().ToArray();

    /// <inheritdoc />
    /// <remarks>Values are never changed in place, so the snapshot copies only the references.</remarks>
    IServiceSnapshot ISnapshottingService.TakeSnapshot() => Capture();

    private Snapshot Capture() =>
        new(StateHash, adder.Total, [.. lastSequence.OrderBy(pair => pair.Key)], (byte[][])values.Clone());

    /// <inheritdoc />
    public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(checkpoint) != CheckpointMagic)
        {
            throw new ArgumentException("not a key-value service checkpoint");
        }

        StateHash = BinaryPrimitives.ReadUInt64LittleEndian(checkpoint[4..]);
        adder.RestoreCheckpoint(checkpoint.Slice(12, 4));
        var processes = BinaryPrimitives.ReadInt32LittleEndian(checkpoint[16..]);
        checkpoint = checkpoint[20..];
        lastSequence.Clear();
        for (var i = 0; i < processes; i++)
        {
            lastSequence[BinaryPrimitives.ReadInt32LittleEndian(checkpoint)] = BinaryPrimitives.ReadInt32LittleEndian(checkpoint[4..]);
            checkpoint = checkpoint[8..];
        }

        for (var key = 0; key < KeysMax; key++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(checkpoint);
            values[key] = checkpoint.Slice(4, length).ToArray();
            checkpoint = checkpoint[(4 + length)..];
        }

        Executed = 0;
    }

    private byte[] Apply(KvCommand.Decoded command, ReadOnlySpan<byte> prediction)
    {
        var key = command.Key % KeysMax;
        switch (command.Function)
        {
            case KvFunction.Get:
                // Values are never changed in place (every write stores a new array), so the result can share it.
                return values[key];
            case KvFunction.Put:
                values[key] = command.Value.ToArray();
                return [];
            case KvFunction.Append:
                values[key] = [.. values[key], .. command.Value];
                return [];
            case KvFunction.Cas:
                if (!values[key].AsSpan().SequenceEqual(command.Expected))
                {
                    return CasFailed;
                }

                values[key] = command.Value.ToArray();
                return CasSucceeded;
            default:
                return adder.Execute(command.Value, prediction);
        }
    }

    private static ulong Mix(ulong hash, ulong operation, ulong result)
    {
        hash = (hash ^ operation) * 0x9E3779B97F4A7C15UL;
        hash = (hash ^ (hash >> 29) ^ result) * 0xBF58476D1CE4E5B9UL;
        return hash ^ (hash >> 32);
    }

    /// <summary>The state at a checkpoint, written later (possibly by another thread) in the checkpoint's layout.</summary>
    private sealed class Snapshot(ulong stateHash, int total, KeyValuePair<int, int>[] sequences, byte[][] values) : IServiceSnapshot
    {
        public byte[] ToArray()
        {
            var size = 4 + 8 + 4 + 4 + (sequences.Length * 8);
            foreach (var value in values)
            {
                size += 4 + value.Length;
            }

            var bytes = new byte[size];
            var span = bytes.AsSpan();
            BinaryPrimitives.WriteUInt32LittleEndian(span, CheckpointMagic);
            BinaryPrimitives.WriteUInt64LittleEndian(span[4..], stateHash);
            BinaryPrimitives.WriteInt32LittleEndian(span[12..], total);
            BinaryPrimitives.WriteInt32LittleEndian(span[16..], sequences.Length);
            span = span[20..];
            foreach (var (process, sequence) in sequences)
            {
                BinaryPrimitives.WriteInt32LittleEndian(span, process);
                BinaryPrimitives.WriteInt32LittleEndian(span[4..], sequence);
                span = span[8..];
            }

            foreach (var value in values)
            {
                BinaryPrimitives.WriteInt32LittleEndian(span, value.Length);
                value.CopyTo(span[4..]);
                span = span[(4 + value.Length)..];
            }

            return bytes;
        }

        public void WriteTo(IBufferWriter<byte> destination) => destination.Write(ToArray());

        public void Dispose()
        {
        }
    }
}
