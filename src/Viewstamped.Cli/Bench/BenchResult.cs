using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Viewstamped.Cli.Bench;

/// <summary>What one <c>vsr bench</c> run measured.</summary>
public sealed record BenchResult
{
    public required int Clients { get; init; }

    public required int Pipeline { get; init; }

    public required int ValueSize { get; init; }

    /// <summary>The measured window, in seconds (the warm-up is left out).</summary>
    public required double Seconds { get; init; }

    /// <summary>SETs acknowledged in the window.</summary>
    public required long Ops { get; init; }

    /// <summary>Invocations whose outcome stayed unknown, or that could not be sent.</summary>
    public required long Errors { get; init; }

    public required double P50Milliseconds { get; init; }

    public required double P99Milliseconds { get; init; }

    public required double P999Milliseconds { get; init; }

    public required double MaxMilliseconds { get; init; }

    /// <summary>fsyncs per second summed over every replica (they share this machine's disk); null against a <c>--target</c>.</summary>
    public double? FsyncsPerSecond { get; init; }

    /// <summary>Log entries per log fsync, over every replica; null against a <c>--target</c>.</summary>
    public double? EntriesPerFsync { get; init; }

    /// <summary>
    /// CPU time of this whole process (with an embedded cluster: every replica and the clients) per
    /// acknowledged SET in the window, in microseconds.
    /// </summary>
    public double CpuMicrosecondsPerOp { get; init; }

    /// <summary>Bytes allocated on the managed heap of this process per acknowledged SET in the window.</summary>
    public double AllocatedBytesPerOp { get; init; }

    /// <summary>Garbage collections (any generation counts, as gen-0 collections) in the window.</summary>
    public int GarbageCollections { get; init; }

    public double OpsPerSecond => Seconds > 0 ? Ops / Seconds : 0;

    /// <summary>One JSON object on one line, with the fields the issue names first.</summary>
    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("clients", Clients);
            json.WriteNumber("pipeline", Pipeline);
            json.WriteNumber("ops", Ops);
            json.WriteNumber("ops_per_s", Math.Round(OpsPerSecond, 1));
            json.WriteNumber("p50_ms", Math.Round(P50Milliseconds, 3));
            json.WriteNumber("p99_ms", Math.Round(P99Milliseconds, 3));
            json.WriteNumber("p999_ms", Math.Round(P999Milliseconds, 3));
            WriteNullable(json, "fsyncs_per_s", FsyncsPerSecond, 1);
            WriteNullable(json, "entries_per_fsync", EntriesPerFsync, 2);
            json.WriteNumber("max_ms", Math.Round(MaxMilliseconds, 3));
            json.WriteNumber("cpu_us_per_op", Math.Round(CpuMicrosecondsPerOp, 2));
            json.WriteNumber("alloc_bytes_per_op", Math.Round(AllocatedBytesPerOp, 0));
            json.WriteNumber("gcs", GarbageCollections);
            json.WriteNumber("errors", Errors);
            json.WriteNumber("value_size", ValueSize);
            json.WriteNumber("seconds", Math.Round(Seconds, 3));
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>The rows of the summary table: name and value, formatted for people.</summary>
    public IEnumerable<(string Name, string Value)> Rows()
    {
        yield return ("clients × pipeline", $"{Clients} × {Pipeline}");
        yield return ("SETs acknowledged", Ops.ToString("N0", CultureInfo.InvariantCulture));
        yield return ("throughput", string.Create(CultureInfo.InvariantCulture, $"{OpsPerSecond:N0} ops/s over {Seconds:0.0} s"));
        yield return ("latency p50 / p99 / p99.9 / max", string.Create(CultureInfo.InvariantCulture, $"{P50Milliseconds:0.000} / {P99Milliseconds:0.000} / {P999Milliseconds:0.000} / {MaxMilliseconds:0.0} ms"));
        yield return ("fsyncs (all replicas)", FsyncsPerSecond is { } f ? string.Create(CultureInfo.InvariantCulture, $"{f:N0} /s") : "n/a (--target)");
        yield return ("log entries per fsync", EntriesPerFsync is { } e ? e.ToString("0.00", CultureInfo.InvariantCulture) : "n/a (--target)");
        yield return ("CPU per SET (this process)", string.Create(CultureInfo.InvariantCulture, $"{CpuMicrosecondsPerOp:0.0} µs"));
        yield return ("allocated per SET (this process)", string.Create(CultureInfo.InvariantCulture, $"{AllocatedBytesPerOp:N0} bytes, {GarbageCollections} GCs"));
        yield return ("unknown outcomes", Errors.ToString(CultureInfo.InvariantCulture));
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, double? value, int digits)
    {
        if (value is { } number)
        {
            json.WriteNumber(name, Math.Round(number, digits));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
