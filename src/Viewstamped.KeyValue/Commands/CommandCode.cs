namespace Viewstamped.KeyValue;

/// <summary>
/// The replicated commands, as the first byte of an encoded operation. The numbers are part of the
/// log format: never renumber or reuse one.
/// </summary>
public enum CommandCode : byte
{
    /// <summary>Not a replicated command.</summary>
    None = 0,

    /// <summary><c>GET key</c>.</summary>
    Get = 1,

    /// <summary><c>SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]</c>.</summary>
    Set = 2,

    /// <summary><c>DEL key [key ...]</c>.</summary>
    Del = 3,

    /// <summary><c>EXISTS key [key ...]</c>.</summary>
    Exists = 4,

    /// <summary><c>INCR key</c>.</summary>
    Incr = 5,

    /// <summary><c>INCRBY key increment</c>.</summary>
    IncrBy = 6,

    /// <summary><c>DECR key</c>.</summary>
    Decr = 7,

    /// <summary><c>DECRBY key decrement</c>.</summary>
    DecrBy = 8,

    /// <summary><c>APPEND key value</c>.</summary>
    Append = 9,

    /// <summary><c>STRLEN key</c>.</summary>
    StrLen = 10,

    /// <summary><c>MGET key [key ...]</c>.</summary>
    MGet = 11,

    /// <summary><c>MSET key value [key value ...]</c>.</summary>
    MSet = 12,

    /// <summary><c>GETDEL key</c>.</summary>
    GetDel = 13,

    /// <summary><c>DBSIZE</c>.</summary>
    DbSize = 14,

    /// <summary><c>CAS key expected new [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]</c>: ours, not Redis's.</summary>
    Cas = 15,

    /// <summary><c>EXPIRE key seconds [NX|XX|GT|LT]</c>.</summary>
    Expire = 16,

    /// <summary><c>PEXPIRE key milliseconds [NX|XX|GT|LT]</c>.</summary>
    PExpire = 17,

    /// <summary><c>TTL key</c>.</summary>
    Ttl = 18,

    /// <summary><c>PTTL key</c>.</summary>
    PTtl = 19,

    /// <summary><c>PERSIST key</c>.</summary>
    Persist = 20,

    /// <summary><c>SETNX key value</c>.</summary>
    SetNx = 21,

    /// <summary><c>SETEX key seconds value</c>.</summary>
    SetEx = 22,

    /// <summary><c>PSETEX key milliseconds value</c>.</summary>
    PSetEx = 23,

    /// <summary><c>GETSET key value</c>.</summary>
    GetSet = 24,

    /// <summary><c>UNLINK key [key ...]</c>: DEL (values are freed at once here).</summary>
    Unlink = 25,

    /// <summary>
    /// Not a Redis command: a run of operations executed in order as one log entry (a RESP
    /// connection's pipelined commands). The reply is their replies, concatenated.
    /// </summary>
    Batch = 26,
}
