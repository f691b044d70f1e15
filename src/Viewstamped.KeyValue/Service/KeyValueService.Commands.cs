using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>The commands, with Redis 7's replies and errors.</summary>
public sealed partial class KeyValueService
{
    private const string NotInteger = "ERR value is not an integer or out of range";
    private const string SyntaxError = "ERR syntax error";

    private enum ExpiryUnit
    {
        None,
        Seconds,
        Milliseconds,
        UnixSeconds,
        UnixMilliseconds,
    }

    private byte[] Get(Args args) => store.Find(args[1]) is var record and not Store.None ? Resp.BulkString(store.Value(record)) : Nil();

    private byte[] Set(Args args)
    {
        if (!TryParseWriteOptions(args, 3, conditions: true, out var parsed))
        {
            return Resp.Error(SyntaxError);
        }

        if (!TryComputeExpiry(args, parsed, "set", out var expireAt, out var error))
        {
            return error;
        }

        var key = args[1];
        var existing = store.Find(key);
        var reply = parsed.Get ? (existing == Store.None ? Nil() : Resp.BulkString(store.Value(existing))) : null;
        if ((parsed.Nx && existing != Store.None) || (parsed.Xx && existing == Store.None))
        {
            return reply ?? Nil();
        }

        Write(existing, key, args[2], parsed, expireAt);
        return reply ?? Resp.Ok.ToArray();
    }

    private byte[] SetNx(Args args)
    {
        var key = args[1];
        if (store.Find(key) != Store.None)
        {
            return Resp.Integer(0);
        }

        store.Put(Store.None, key, args[2], null);
        return Resp.Integer(1);
    }

    /// <summary>SETEX and PSETEX: SET with EX or PX, with their own words for a bad time.</summary>
    private byte[] SetEx(Args args, bool seconds)
    {
        var name = seconds ? "setex" : "psetex";
        if (!RespInteger.TryParse(args[2], out var value))
        {
            return Resp.Error(NotInteger);
        }

        if (value <= 0 || (seconds && value > long.MaxValue / 1000) || (seconds ? value * 1000 : value) > long.MaxValue - store.Now)
        {
            return InvalidExpireTime(name);
        }

        var key = args[1];
        store.Put(store.Find(key), key, args[3], store.Now + (seconds ? value * 1000 : value));
        return Resp.Ok.ToArray();
    }

    /// <summary>GETSET: the old value (or nil), and the new one without any expiry.</summary>
    private byte[] GetSet(Args args)
    {
        var key = args[1];
        var existing = store.Find(key);
        var reply = existing == Store.None ? Nil() : Resp.BulkString(store.Value(existing));
        store.Put(existing, key, args[2], null);
        return reply;
    }

    private byte[] Cas(Args args)
    {
        if (!TryParseWriteOptions(args, 4, conditions: false, out var parsed))
        {
            return Resp.Error(SyntaxError);
        }

        if (!TryComputeExpiry(args, parsed, "cas", out var expireAt, out var error))
        {
            return error;
        }

        var key = args[1];
        var existing = store.Find(key);
        if (existing == Store.None || !store.Value(existing).SequenceEqual(args[2]))
        {
            return Resp.Integer(0);
        }

        Write(existing, key, args[3], parsed, expireAt);
        return Resp.Integer(1);
    }

    /// <summary>The write of SET and CAS: KEEPTTL keeps the expiry, an explicit one in the past deletes the key.</summary>
    private void Write(int existing, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, in WriteOptions parsed, long? expireAt)
    {
        if (parsed.KeepTtl && existing != Store.None)
        {
            expireAt = store.ExpiryOf(existing);
        }
        else if (expireAt <= store.Now)
        {
            // Only EXAT/PXAT can name a time already past: the key is set and gone at once.
            if (existing != Store.None)
            {
                store.Remove(existing);
            }

            return;
        }

        store.Put(existing, key, value, expireAt);
    }

    private byte[] Del(Args args)
    {
        var deleted = 0;
        for (var i = 1; i < args.Count; i++)
        {
            if (store.Find(args[i]) is var record and not Store.None)
            {
                store.Remove(record);
                deleted++;
            }
        }

        return Resp.Integer(deleted);
    }

    private byte[] Exists(Args args)
    {
        var found = 0;
        for (var i = 1; i < args.Count; i++)
        {
            if (store.Find(args[i]) != Store.None)
            {
                found++;
            }
        }

        return Resp.Integer(found);
    }

    private byte[] IncrByArgument(Args args, bool negate)
    {
        if (!RespInteger.TryParse(args[2], out var delta))
        {
            return Resp.Error(NotInteger);
        }

        if (negate)
        {
            if (delta == long.MinValue)
            {
                return Resp.Error("ERR decrement would overflow");
            }

            delta = -delta;
        }

        return IncrBy(args[1], delta);
    }

    private byte[] IncrBy(ReadOnlySpan<byte> key, long delta)
    {
        var existing = store.Find(key);
        long current = 0;
        if (existing != Store.None && !RespInteger.TryParse(store.Value(existing), out current))
        {
            return Resp.Error(NotInteger);
        }

        if ((delta < 0 && current < 0 && delta < long.MinValue - current) || (delta > 0 && current > 0 && delta > long.MaxValue - current))
        {
            return Resp.Error("ERR increment or decrement would overflow");
        }

        var result = current + delta;
        Span<byte> text = stackalloc byte[RespInteger.MaxLength];
        var length = RespInteger.Format(result, text);

        // Like Redis, INCR keeps the key's expiry.
        store.Put(existing, key, text[..length], existing == Store.None ? null : store.ExpiryOf(existing));
        return Resp.Integer(result);
    }

    private byte[] Append(Args args)
    {
        var key = args[1];
        var tail = args[2];
        var existing = store.Find(key);
        var length = (existing == Store.None ? 0L : store.Value(existing).Length) + tail.Length;
        if (length > options.MaxValueLength)
        {
            return Resp.Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        }

        if (existing == Store.None)
        {
            store.Put(Store.None, key, tail, null);
        }
        else if (store.CanAppendInPlace(existing, length))
        {
            store.AppendInPlace(existing, tail);
        }
        else
        {
            // The first APPEND to a key sizes it exactly; later ones grow it geometrically, so a
            // key built by many APPENDs costs linear time, as with Redis's strings.
            var capacity = store.HasSpareRoom(existing) ? Grow(length) : length;
            var grown = store.Insert(existing, key, store.Value(existing), store.ExpiryOf(existing), (int)capacity);
            store.AppendInPlace(grown, tail);
        }

        return Resp.Integer(length);
    }

    private long Grow(long length) => Math.Min(options.MaxValueLength, length < (1 << 20) ? length * 2 : length + (1 << 20));

    private byte[] StrLen(Args args) => Resp.Integer(store.Find(args[1]) is var record and not Store.None ? store.Value(record).Length : 0);

    private byte[] MGet(Args args)
    {
        var found = new int[args.Count - 1];
        long size = 1 + RespInteger.LengthOf(found.Length) + 2;
        for (var i = 0; i < found.Length; i++)
        {
            found[i] = store.Find(args[i + 1]);
            size += found[i] is var record and not Store.None ? BulkSize(store.Value(record).Length) : Resp.NullBulkString.Length;
        }

        var reply = new byte[size];
        var writer = new RespWriter(new FixedBufferWriter(reply));
        writer.WriteArrayHeader(found.Length);
        foreach (var record in found)
        {
            if (record == Store.None)
            {
                writer.WriteNullBulkString();
            }
            else
            {
                writer.WriteBulkString(store.Value(record));
            }
        }

        return reply;
    }

    private byte[] MSet(Args args)
    {
        for (var i = 1; i < args.Count; i += 2)
        {
            // MSET drops any expiry, like SET without options.
            store.Put(store.Find(args[i]), args[i], args[i + 1], null);
        }

        return Resp.Ok.ToArray();
    }

    private byte[] GetDel(Args args)
    {
        var record = store.Find(args[1]);
        if (record == Store.None)
        {
            return Nil();
        }

        var reply = Resp.BulkString(store.Value(record));
        store.Remove(record);
        return reply;
    }

    private byte[] DbSize()
    {
        // The count must not depend on which expired keys a replica still holds.
        store.Sweep(int.MaxValue);
        return Resp.Integer(store.Count);
    }

    private byte[] Expire(Args args, bool seconds)
    {
        var name = seconds ? "expire" : "pexpire";
        bool nx = false, xx = false, gt = false, lt = false;
        for (var j = 3; j < args.Count; j++)
        {
            var option = args[j];
            if (Is(option, "NX"u8))
            {
                nx = true;
            }
            else if (Is(option, "XX"u8))
            {
                xx = true;
            }
            else if (Is(option, "GT"u8))
            {
                gt = true;
            }
            else if (Is(option, "LT"u8))
            {
                lt = true;
            }
            else
            {
                return Resp.Error($"ERR Unsupported option {Encoding.Latin1.GetString(option)}");
            }
        }

        if (nx && (xx || gt || lt))
        {
            return Resp.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
        }

        if (gt && lt)
        {
            return Resp.Error("ERR GT and LT options at the same time are not compatible");
        }

        if (!RespInteger.TryParse(args[2], out var when))
        {
            return Resp.Error(NotInteger);
        }

        if (seconds)
        {
            if (when > long.MaxValue / 1000 || when < long.MinValue / 1000)
            {
                return InvalidExpireTime(name);
            }

            when *= 1000;
        }

        if (when > long.MaxValue - store.Now)
        {
            return InvalidExpireTime(name);
        }

        when += store.Now;
        var record = store.Find(args[1]);
        if (record == Store.None)
        {
            return Resp.Integer(0);
        }

        var current = store.ExpiryOf(record);
        if ((nx && current is not null) || (xx && current is null) || (gt && (current is null || when <= current)) || (lt && when >= current))
        {
            return Resp.Integer(0);
        }

        if (when <= store.Now)
        {
            store.Remove(record);
        }
        else
        {
            store.SetExpiry(record, when);
        }

        return Resp.Integer(1);
    }

    private byte[] Ttl(Args args, bool seconds)
    {
        var record = store.Find(args[1]);
        if (record == Store.None)
        {
            return Resp.Integer(-2);
        }

        if (store.ExpiryOf(record) is not { } expireAt)
        {
            return Resp.Integer(-1);
        }

        var remaining = Math.Max(0, expireAt - store.Now);
        return Resp.Integer(seconds ? (remaining + 500) / 1000 : remaining);
    }

    private byte[] Persist(Args args)
    {
        var record = store.Find(args[1]);
        if (record == Store.None || !store.HasExpiry(record))
        {
            return Resp.Integer(0);
        }

        store.SetExpiry(record, null);
        return Resp.Integer(1);
    }

    /// <summary>Parses SET's options from <paramref name="start"/> on, as Redis does (CAS takes the expiry ones).</summary>
    private static bool TryParseWriteOptions(Args args, int start, bool conditions, out WriteOptions parsed)
    {
        parsed = default;
        for (var j = start; j < args.Count; j++)
        {
            var option = args[j];
            var hasNext = j < args.Count - 1;
            var noExpiry = !parsed.KeepTtl;
            if (conditions && Is(option, "NX"u8) && !parsed.Xx)
            {
                parsed.Nx = true;
            }
            else if (conditions && Is(option, "XX"u8) && !parsed.Nx)
            {
                parsed.Xx = true;
            }
            else if (conditions && Is(option, "GET"u8))
            {
                parsed.Get = true;
            }
            else if (Is(option, "KEEPTTL"u8) && parsed.Unit == ExpiryUnit.None)
            {
                parsed.KeepTtl = true;
            }
            else if (TryUnit(option, out var unit) && noExpiry && (parsed.Unit == ExpiryUnit.None || parsed.Unit == unit) && hasNext)
            {
                parsed.Unit = unit;
                parsed.ExpiryArgument = ++j;
            }
            else
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryUnit(ReadOnlySpan<byte> option, out ExpiryUnit unit)
    {
        unit = Is(option, "EX"u8) ? ExpiryUnit.Seconds
            : Is(option, "PX"u8) ? ExpiryUnit.Milliseconds
            : Is(option, "EXAT"u8) ? ExpiryUnit.UnixSeconds
            : Is(option, "PXAT"u8) ? ExpiryUnit.UnixMilliseconds
            : ExpiryUnit.None;
        return unit != ExpiryUnit.None;
    }

    /// <summary>The absolute expiry the options ask for (null: none), or the error Redis gives.</summary>
    private bool TryComputeExpiry(Args args, in WriteOptions parsed, string command, out long? expireAt, out byte[] error)
    {
        expireAt = null;
        error = [];
        if (parsed.Unit == ExpiryUnit.None)
        {
            return true;
        }

        if (!RespInteger.TryParse(args[parsed.ExpiryArgument], out var value))
        {
            error = Resp.Error(NotInteger);
            return false;
        }

        var seconds = parsed.Unit is ExpiryUnit.Seconds or ExpiryUnit.UnixSeconds;
        if (value <= 0 || (seconds && value > long.MaxValue / 1000))
        {
            error = InvalidExpireTime(command);
            return false;
        }

        var milliseconds = seconds ? value * 1000 : value;
        if (parsed.Unit is ExpiryUnit.Seconds or ExpiryUnit.Milliseconds)
        {
            if (milliseconds > long.MaxValue - store.Now)
            {
                error = InvalidExpireTime(command);
                return false;
            }

            milliseconds += store.Now;
        }

        expireAt = milliseconds;
        return true;
    }

    private static byte[] InvalidExpireTime(string command) => Resp.Error($"ERR invalid expire time in '{command}' command");

    private static bool Is(ReadOnlySpan<byte> argument, ReadOnlySpan<byte> upperCase) => Ascii.EqualsIgnoreCase(argument, upperCase);

    private static byte[] Nil() => Resp.NullBulkString.ToArray();

    private static long BulkSize(int length) => 1 + RespInteger.LengthOf(length) + 2 + length + 2;

    private struct WriteOptions
    {
        public bool Nx;
        public bool Xx;
        public bool Get;
        public bool KeepTtl;
        public ExpiryUnit Unit;
        public int ExpiryArgument;
    }
}
