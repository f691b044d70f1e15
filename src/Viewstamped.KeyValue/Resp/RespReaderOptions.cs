namespace Viewstamped.KeyValue;

/// <summary>
/// Limits the reader enforces on each request before it allocates anything for it. A stream that
/// breaks one is a protocol error: the server answers with the error and closes the connection.
/// </summary>
public sealed record RespReaderOptions
{
    /// <summary>The default bulk string limit: 16 MiB, the replication message limit (Redis allows 512 MB).</summary>
    public const int DefaultMaxBulkLength = 16 << 20;

    /// <summary>The longest bulk string (one argument) accepted.</summary>
    public int MaxBulkLength { get; init; } = DefaultMaxBulkLength;

    /// <summary>The most arguments one request may carry.</summary>
    public int MaxArrayLength { get; init; } = 1 << 20;

    /// <summary>The longest inline command line, without its line end (Redis: 64 KiB).</summary>
    public int MaxInlineLength { get; init; } = 64 << 10;

    /// <summary>The most bytes one request may take on the wire, headers included.</summary>
    public long MaxRequestLength { get; init; } = 2L * DefaultMaxBulkLength;

    /// <summary>
    /// Limits for a connection that has not authenticated yet when a password is required: Redis
    /// likewise refuses large requests from unauthenticated clients.
    /// </summary>
    public static RespReaderOptions Unauthenticated { get; } = new()
    {
        MaxBulkLength = 16 << 10,
        MaxArrayLength = 10,
        MaxInlineLength = 16 << 10,
        MaxRequestLength = 64 << 10,
    };

    /// <summary>Throws when a limit is not positive.</summary>
    public RespReaderOptions Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(MaxBulkLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxArrayLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxInlineLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxRequestLength);
        return this;
    }
}
