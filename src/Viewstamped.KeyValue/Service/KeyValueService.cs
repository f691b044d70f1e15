using System.Buffers.Binary;

namespace Viewstamped.KeyValue;

/// <summary>
/// A replicated key-value store with Redis semantics for strings: GET, SET (NX, XX, GET, EX, PX,
/// EXAT, PXAT, KEEPTTL), DEL, EXISTS, INCR, INCRBY, DECR, DECRBY, APPEND, STRLEN, MGET, MSET,
/// GETDEL, DBSIZE, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, and CAS (compare-and-set, ours).
/// Operations are encoded by <see cref="KeyValueOperation"/>; replies are RESP2, ready to send.
/// </summary>
/// <remarks>
/// <para>Time: <see cref="Predict"/> (called at the primary only) returns the injected clock's
/// reading, Unix milliseconds as 8 little-endian bytes; the replica logs it with the operation, and
/// <see cref="Execute"/> uses only that value, never a clock. The service's time is the largest
/// prediction it has executed (it never goes back, so a new primary with a slow clock cannot bring
/// keys back to life) and is part of the checkpoint.</para>
/// <para>Expiry: a key whose expiry time is before the service's time is gone. Expired keys are
/// removed when an operation touches them and, up to <see cref="KeyValueOptions.SweepPerOperation"/>
/// per operation, earliest first; DBSIZE removes all of them first. Replies and checkpoints never
/// depend on which expired keys are still held, so replicas agree byte for byte.</para>
/// <para>Not thread-safe: the replica's driver calls it one operation at a time. The one exception is a
/// checkpoint snapshot (<see cref="TakeSnapshot"/>), which may be written on another thread while
/// operations execute.</para>
/// </remarks>
public sealed partial class KeyValueService : IPredictingService, IStreamingCheckpointingService, ISnapshottingService
{
    private readonly Func<long> clock;
    private readonly KeyValueOptions options;
    private Store store = new();
    private Range[] ranges = new Range[8];

    /// <summary>
    /// Creates an empty store. <paramref name="clock"/> returns the local time in Unix milliseconds;
    /// it is read only by <see cref="Predict"/>, i.e. at the primary.
    /// </summary>
    public KeyValueService(Func<long> clock, KeyValueOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(clock);
        this.clock = clock;
        this.options = options ?? new KeyValueOptions();
    }

    /// <summary>The service's time in Unix milliseconds: the largest prediction executed.</summary>
    public long Now => store.Now;

    /// <summary>Keys held, including expired ones not removed yet (DBSIZE gives the live count).</summary>
    public int Count => store.Count;

    /// <summary>
    /// Bytes the store holds for its keys: its slabs (live, dead and unused bytes) and the records in
    /// arrays of their own. Unlike the rest of the service, it may be read from any thread (INFO's
    /// <c>used_memory_dataset</c>); the value is then a recent one.
    /// </summary>
    public long BytesHeld => store.BytesHeld;

    /// <summary>Keys held that have an expiry.</summary>
    public int ExpiringCount => store.ExpiringCount;

    /// <inheritdoc />
    public byte[] Predict(ReadOnlySpan<byte> operation)
    {
        var prediction = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(prediction, clock());
        return prediction;
    }

    /// <inheritdoc />
    public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction)
    {
        if (prediction.Length == 8)
        {
            var predicted = BinaryPrimitives.ReadInt64LittleEndian(prediction);
            if (predicted > store.Now)
            {
                store.Now = predicted;
            }
        }

        if (!operation.IsEmpty && operation[0] == (byte)CommandCode.Batch)
        {
            return ExecuteBatch(operation);
        }

        return ExecuteOne(operation);
    }

    private byte[] ExecuteOne(ReadOnlySpan<byte> operation)
    {
        // Between operations, where no handle into the store is held: a snapshot written meanwhile
        // lets the store thaw, and records may move.
        store.ThawIfReleased();
        store.Compact();
        store.Sweep(options.SweepPerOperation);
        if (!KeyValueOperation.TryParse(operation, ref ranges, out var code, out var count))
        {
            return Resp.Error("ERR malformed operation");
        }

        if (CommandClassifier.SpecOf(code) is not { } spec)
        {
            return Resp.Error($"ERR unknown operation code {(byte)code}");
        }

        var args = new Args(operation, ranges.AsSpan(0, count));
        if (!spec.AcceptsArgumentCount(args.Count))
        {
            return Resp.Error(spec.ArityError);
        }

        var reply = Dispatch(code, args);
        if (ranges.Length > 1024)
        {
            ranges = new Range[8]; // keep no large buffer after a huge MSET
        }

        return reply;
    }

    /// <summary>
    /// A batch (<see cref="KeyValueOperation.EncodeBatch(IReadOnlyList{byte[]})"/>): each operation in order, at the same
    /// predicted time, and their replies concatenated. A malformed batch executes nothing; a nested
    /// batch is refused like any malformed operation.
    /// </summary>
    private byte[] ExecuteBatch(ReadOnlySpan<byte> batch)
    {
        if (!TrySplitBatch(batch, out var parts))
        {
            return Resp.Error("ERR malformed operation");
        }

        var replies = new byte[parts.Length][];
        var size = 0L;
        for (var i = 0; i < parts.Length; i++)
        {
            var operation = batch[parts[i]];
            replies[i] = !operation.IsEmpty && operation[0] == (byte)CommandCode.Batch
                ? Resp.Error("ERR malformed operation")
                : ExecuteOne(operation);
            size += replies[i].Length;
        }

        var reply = new byte[size];
        var at = 0;
        foreach (var part in replies)
        {
            part.CopyTo(reply, at);
            at += part.Length;
        }

        return reply;
    }

    private static bool TrySplitBatch(ReadOnlySpan<byte> batch, out Range[] parts)
    {
        parts = [];
        var at = 1;
        if (!VarInt.TryRead(batch[at..], out var count, out var used) || count > (uint)(batch.Length - at - used))
        {
            return false;
        }

        at += used;
        parts = new Range[count];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!VarInt.TryRead(batch[at..], out var length, out used) || length > (uint)(batch.Length - at - used))
            {
                return false;
            }

            at += used;
            parts[i] = new Range(at, at + (int)length);
            at += (int)length;
        }

        return at == batch.Length;
    }

    private byte[] Dispatch(CommandCode code, Args args)
    {
        return code switch
        {
            CommandCode.Get => Get(args),
            CommandCode.Set => Set(args),
            CommandCode.Del or CommandCode.Unlink => Del(args),
            CommandCode.Exists => Exists(args),
            CommandCode.Incr => IncrBy(args[1], 1),
            CommandCode.Decr => IncrBy(args[1], -1),
            CommandCode.IncrBy => IncrByArgument(args, negate: false),
            CommandCode.DecrBy => IncrByArgument(args, negate: true),
            CommandCode.Append => Append(args),
            CommandCode.StrLen => StrLen(args),
            CommandCode.MGet => MGet(args),
            CommandCode.MSet => MSet(args),
            CommandCode.GetDel => GetDel(args),
            CommandCode.DbSize => DbSize(),
            CommandCode.Cas => Cas(args),
            CommandCode.Expire => Expire(args, seconds: true),
            CommandCode.PExpire => Expire(args, seconds: false),
            CommandCode.Ttl => Ttl(args, seconds: true),
            CommandCode.PTtl => Ttl(args, seconds: false),
            CommandCode.Persist => Persist(args),
            CommandCode.SetNx => SetNx(args),
            CommandCode.SetEx => SetEx(args, seconds: true),
            CommandCode.PSetEx => SetEx(args, seconds: false),
            CommandCode.GetSet => GetSet(args),
            _ => Resp.Error($"ERR unknown operation code {(byte)code}"),
        };
    }

    /// <summary>The arguments of an operation, numbered as Redis numbers them: 0 is the command name.</summary>
    private readonly ref struct Args(ReadOnlySpan<byte> operation, ReadOnlySpan<Range> ranges)
    {
        private readonly ReadOnlySpan<byte> operation = operation;
        private readonly ReadOnlySpan<Range> ranges = ranges;

        /// <summary>The number of arguments, the name included.</summary>
        public int Count => ranges.Length + 1;

        public ReadOnlySpan<byte> this[int index] => operation[ranges[index - 1]];
    }
}
