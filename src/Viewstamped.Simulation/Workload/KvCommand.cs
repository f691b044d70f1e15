using System.Buffers.Binary;
using System.Text;

namespace Viewstamped.Simulation.Workload;

/// <summary>The functions of the key-value register service.</summary>
public enum KvFunction : byte
{
    /// <summary>Reads a key's value (the empty string when never written).</summary>
    Get = 1,

    /// <summary>Overwrites a key's value.</summary>
    Put = 2,

    /// <summary>Appends to a key's value.</summary>
    Append = 3,

    /// <summary>Sets a key's value only when it holds the expected one; replies whether it did.</summary>
    Cas = 4,

    /// <summary>Adds to the running total of the embedded <see cref="Samples.Adder"/>; replies the new total.</summary>
    Add = 5,
}

/// <summary>
/// One operation of the workload. Every operation carries its client process and a sequence number
/// that increases with each operation the process submits, so the service can tell when an operation
/// executes twice.
/// </summary>
/// <param name="Process">The client process (a new one for every client session).</param>
/// <param name="Sequence">The process's operation number, from 1.</param>
/// <param name="Function">What the operation does.</param>
/// <param name="Key">The key, 0 to <see cref="KeyValueService.KeysMax"/>-1 (ignored by <see cref="KvFunction.Add"/>).</param>
/// <param name="Value">The value of a put, the suffix of an append or the new value of a cas.</param>
/// <param name="Expected">The value a cas expects.</param>
/// <param name="Addend">The number an add adds.</param>
public readonly record struct KvCommand(int Process, int Sequence, KvFunction Function, byte Key, string? Value = null, string? Expected = null, int Addend = 0)
{
    private const int HeaderSize = 10;

    // Every history event names its key: the names of the service's keys are made once.
    private static readonly string[] KeyNames = Enumerable.Range(0, KeyValueService.KeysMax)
        .Select(key => "k" + key.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .ToArray();

    /// <summary>The key's name in histories.</summary>
    public static string KeyName(int key) => (uint)key < (uint)KeyNames.Length
        ? KeyNames[key]
        : "k" + key.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Encodes the operation for a request.</summary>
    public byte[] Encode()
    {
        var value = Value ?? string.Empty;
        var expected = Expected ?? string.Empty;
        var size = HeaderSize + Function switch
        {
            KvFunction.Put or KvFunction.Append => Encoding.UTF8.GetByteCount(value),
            KvFunction.Cas => 2 + Encoding.UTF8.GetByteCount(expected) + Encoding.UTF8.GetByteCount(value),
            KvFunction.Add => 4,
            _ => 0,
        };
        var bytes = new byte[size];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, Process);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), Sequence);
        bytes[8] = (byte)Function;
        bytes[9] = Key;
        var body = bytes.AsSpan(HeaderSize);
        switch (Function)
        {
            case KvFunction.Put or KvFunction.Append:
                Encoding.UTF8.GetBytes(value, body);
                break;
            case KvFunction.Cas:
                var written = Encoding.UTF8.GetBytes(expected, body[2..]);
                BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)written);
                Encoding.UTF8.GetBytes(value, body[(2 + written)..]);
                break;
            case KvFunction.Add:
                BinaryPrimitives.WriteInt32LittleEndian(body, Addend);
                break;
        }

        return bytes;
    }

    /// <summary>The parts of an encoded operation, without copying.</summary>
    internal readonly ref struct Decoded
    {
        public Decoded(ReadOnlySpan<byte> operation)
        {
            if (operation.Length < HeaderSize || operation[8] is < (byte)KvFunction.Get or > (byte)KvFunction.Add)
            {
                throw new ArgumentException("not a key-value operation");
            }

            Process = BinaryPrimitives.ReadInt32LittleEndian(operation);
            Sequence = BinaryPrimitives.ReadInt32LittleEndian(operation[4..]);
            Function = (KvFunction)operation[8];
            Key = operation[9];
            var body = operation[HeaderSize..];
            if (Function == KvFunction.Cas)
            {
                var expectedLength = BinaryPrimitives.ReadUInt16LittleEndian(body);
                Expected = body.Slice(2, expectedLength);
                Value = body[(2 + expectedLength)..];
            }
            else
            {
                Value = body;
                Expected = default;
            }
        }

        public int Process { get; }

        public int Sequence { get; }

        public KvFunction Function { get; }

        public byte Key { get; }

        public ReadOnlySpan<byte> Value { get; }

        public ReadOnlySpan<byte> Expected { get; }
    }
}
