namespace Viewstamped.KeyValue;

/// <summary>Limits and tuning of a <see cref="KeyValueService"/>; every replica must use the same.</summary>
public sealed record KeyValueOptions
{
    /// <summary>The longest value APPEND may build (Redis: proto-max-bulk-len, 512 MB).</summary>
    public int MaxValueLength { get; init; } = RespReaderOptions.DefaultMaxBulkLength;

    /// <summary>
    /// How many expired keys each executed operation removes at most, earliest expiry first, on top
    /// of the keys found expired when accessed. Bounds the work one operation does.
    /// </summary>
    public int SweepPerOperation { get; init; } = 20;
}
