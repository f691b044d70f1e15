namespace Viewstamped.KeyValue;

/// <summary>
/// A run of encoded operations (<see cref="KeyValueOperation"/>) held the way a batch holds them:
/// each as a varint length and its bytes, one after another in one buffer. Runs of several
/// connections become one batch with <see cref="KeyValueOperation.EncodeBatch(IReadOnlyList{OperationRun})"/>,
/// which copies each run's bytes once. A server keeps one run per connection and reuses it, so
/// queuing a command allocates nothing once the buffer has grown to the connection's pipeline.
/// </summary>
/// <remarks>Not thread-safe: one writer at a time.</remarks>
public sealed class OperationRun
{
    private byte[] items;
    private int length;
    private int firstOffset;
    private int firstLength;

    /// <summary>An empty run.</summary>
    public OperationRun()
    {
        items = new byte[256];
    }

    /// <summary>The number of operations.</summary>
    public int Count { get; private set; }

    /// <summary>The bytes the operations take in a batch, their length prefixes included.</summary>
    public int Length => length;

    /// <summary>The operations as batch items: for each, a varint length and its bytes.</summary>
    public ReadOnlySpan<byte> Items => items.AsSpan(0, length);

    /// <summary>The first operation, without its length prefix (what a run of one sends on its own).</summary>
    public ReadOnlySpan<byte> First => Count == 0 ? [] : items.AsSpan(firstOffset, firstLength);

    /// <summary>The bytes an operation of <paramref name="operationLength"/> bytes adds to <see cref="Length"/>.</summary>
    public static int ItemLength(int operationLength) => VarInt.SizeOf((uint)operationLength) + operationLength;

    /// <summary>Appends an encoded operation (not a batch).</summary>
    public void Add(ReadOnlySpan<byte> operation)
    {
        if (operation.IsEmpty || operation[0] == (byte)CommandCode.Batch)
        {
            throw new ArgumentException("a run holds encoded commands, not empty operations or batches", nameof(operation));
        }

        operation.CopyTo(Reserve(operation.Length));
    }

    /// <summary>
    /// Appends the operation of the replicated command <paramref name="code"/> given in place: its
    /// <paramref name="arguments"/> are ranges of <paramref name="request"/>, the name first (see
    /// <see cref="ConnectionState.TryGetReplicated"/> and <see cref="RespReader.TryReadWhole"/>).
    /// </summary>
    public void Add(CommandCode code, ReadOnlySpan<byte> request, ReadOnlySpan<Range> arguments)
    {
        if (code == CommandCode.Batch || CommandClassifier.SpecOf(code) is null || arguments.IsEmpty)
        {
            throw new ArgumentException("a run holds replicated commands", nameof(code));
        }

        var size = KeyValueOperation.SizeOf(request, arguments);
        if (size > Array.MaxLength)
        {
            throw new ArgumentException("the operation would exceed the largest array", nameof(arguments));
        }

        KeyValueOperation.Write(code, request, arguments, Reserve((int)size));
    }

    /// <summary>Forgets every operation; the buffer is kept for the next run (unless it grew large).</summary>
    public void Clear()
    {
        Count = 0;
        length = 0;
        if (items.Length > 1 << 20)
        {
            items = new byte[256]; // keep no large buffer after a huge request
        }
    }

    /// <summary>
    /// Appends the length prefix of an operation of <paramref name="size"/> bytes and returns the span
    /// its bytes go to; the caller fills all of it.
    /// </summary>
    internal Span<byte> Reserve(int size)
    {
        var needed = (long)length + VarInt.MaxSize + size;
        if (needed > items.Length)
        {
            if (needed > Array.MaxLength)
            {
                throw new ArgumentException("the run would exceed the largest array", nameof(size));
            }

            Array.Resize(ref items, (int)Math.Min(Array.MaxLength, Math.Max(needed, 2L * items.Length)));
        }

        length += VarInt.Write(items.AsSpan(length), (uint)size);
        if (Count == 0)
        {
            firstOffset = length;
            firstLength = size;
        }

        var span = items.AsSpan(length, size);
        length += size;
        Count++;
        return span;
    }
}
