using System.Globalization;
using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>
/// Formats INFO's text as Redis does — <c># Section</c> headers, <c>field:value</c> lines, CRLF line
/// ends, a blank line between sections — with the replication fields of Viewstamped added
/// (<c>vr_view</c>, <c>vr_op</c>, <c>vr_commit</c>, <c>vr_checkpoint</c>, ...) and, in the memory
/// section, the garbage collector's (<c>gc_heap_size</c>, <c>gc_committed</c>, ...).
/// </summary>
public static class InfoFormatter
{
    private static readonly string[] GenerationNames = ["gen0", "gen1", "gen2", "loh", "poh"];

    private static readonly string[] AllSections = ["server", "clients", "memory", "replication", "keyspace"];

    /// <summary>
    /// The INFO text for <paramref name="sections"/> (none, <c>default</c>, <c>all</c> or
    /// <c>everything</c>: every section; unknown names are ignored), in Redis's section order.
    /// </summary>
    public static string Format(ServerInfo info, IReadOnlyList<string>? sections = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        var wanted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (sections is null || sections.Count == 0 || sections.Any(s => s.ToUpperInvariant() is "DEFAULT" or "ALL" or "EVERYTHING"))
        {
            wanted.UnionWith(AllSections);
        }
        else
        {
            wanted.UnionWith(sections);
        }

        var text = new StringBuilder();
        foreach (var section in AllSections.Where(wanted.Contains))
        {
            if (text.Length > 0)
            {
                text.Append("\r\n");
            }

            switch (section)
            {
                case "server":
                    Header(text, "Server");
                    Field(text, "redis_version", info.RedisVersion);
                    Field(text, "redis_mode", "standalone");
                    Field(text, "viewstamped_version", info.ServerVersion);
                    Field(text, "arch_bits", "64");
                    Field(text, "process_id", info.ProcessId);
                    Field(text, "tcp_port", info.TcpPort);
                    Field(text, "uptime_in_seconds", info.UptimeSeconds);
                    Field(text, "uptime_in_days", info.UptimeSeconds / 86400);
                    break;
                case "clients":
                    Header(text, "Clients");
                    Field(text, "connected_clients", info.ConnectedClients);
                    break;
                case "memory":
                    Memory(text, info.Memory);
                    break;
                case "replication":
                    Replication(text, info);
                    break;
                case "keyspace":
                    Header(text, "Keyspace");
                    if (info.Keys is > 0)
                    {
                        Field(text, "db0", $"keys={info.Keys},expires={info.Expires ?? 0},avg_ttl=0");
                    }

                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// Every endpoint accepts writes (a backup forwards them to the primary), so every endpoint says
    /// <c>role:master</c>, as Redis clients route writes by it; the replica's place in the protocol is
    /// <c>vr_role</c>.
    /// </summary>
    private static void Replication(StringBuilder text, ServerInfo info)
    {
        Header(text, "Replication");
        Field(text, "role", "master");
        Field(text, "connected_slaves", 0);
        Field(text, "vr_role", info.IsPrimary ? "primary" : "backup");
        Field(text, "vr_status", info.Status);
        Field(text, "vr_replica", info.ReplicaIndex);
        Field(text, "vr_replica_count", info.ReplicaCount);
        Field(text, "vr_primary", info.PrimaryIndex);
        if (info.PrimaryHost is { } host)
        {
            Field(text, "vr_primary_endpoint", $"{host}:{info.PrimaryPort}");
        }

        Field(text, "vr_view", info.View);
        Field(text, "vr_op", info.Op);
        Field(text, "vr_commit", info.Commit);
        Field(text, "vr_checkpoint", info.Checkpoint);
    }

    /// <summary>
    /// Redis's fields where they mean the same here (<c>used_memory</c> is the managed heap), and the
    /// garbage collector's own as <c>gc_*</c>.
    /// </summary>
    private static void Memory(StringBuilder text, MemoryInfo? memory)
    {
        Header(text, "Memory");
        if (memory is null)
        {
            return;
        }

        Bytes(text, "used_memory", memory.Used);
        Bytes(text, "used_memory_rss", memory.Rss);
        Bytes(text, "used_memory_peak", memory.UsedPeak);
        Bytes(text, "used_memory_rss_peak", memory.RssPeak);
        if (memory.Dataset is { } dataset)
        {
            Bytes(text, "used_memory_dataset", dataset);
        }

        var ratio = memory.Used > 0 ? (double)memory.Rss / memory.Used : 0;
        Field(text, "mem_fragmentation_ratio", ratio.ToString("F2", CultureInfo.InvariantCulture));
        Field(text, "mem_allocator", "dotnet-gc");
        Field(text, "gc_mode", memory.GcMode);
        Field(text, "gc_heap_size", memory.GcHeapSize);
        Field(text, "gc_committed", memory.GcCommitted);
        Field(text, "gc_fragmented", memory.GcFragmented);
        for (var i = 0; i < Math.Min(memory.GcGenerationSizes.Count, GenerationNames.Length); i++)
        {
            Field(text, $"gc_{GenerationNames[i]}_size", memory.GcGenerationSizes[i]);
        }

        for (var i = 0; i < Math.Min(memory.GcCollections.Count, 3); i++)
        {
            Field(text, $"gc_{GenerationNames[i]}_collections", memory.GcCollections[i]);
        }

        Field(text, "gc_pause_time_percentage", memory.GcPauseTimePercentage.ToString("F2", CultureInfo.InvariantCulture));
    }

    /// <summary>A byte count and, as Redis adds, the same in K, M or G (<c>name_human</c>).</summary>
    private static void Bytes(StringBuilder text, string name, long bytes)
    {
        Field(text, name, bytes);
        Field(text, name + "_human", Human(bytes));
    }

    /// <summary>Redis's rendering: bytes below 1 KiB as <c>123B</c>, then two decimals of K, M or G.</summary>
    internal static string Human(long bytes)
    {
        const double Kilo = 1024;
        var value = (double)bytes;
        return value switch
        {
            < Kilo => FormattableString.Invariant($"{bytes}B"),
            < Kilo * Kilo => FormattableString.Invariant($"{value / Kilo:F2}K"),
            < Kilo * Kilo * Kilo => FormattableString.Invariant($"{value / (Kilo * Kilo):F2}M"),
            _ => FormattableString.Invariant($"{value / (Kilo * Kilo * Kilo):F2}G"),
        };
    }

    private static void Header(StringBuilder text, string name) => text.Append("# ").Append(name).Append("\r\n");

    private static void Field(StringBuilder text, string name, string value) =>
        text.Append(name).Append(':').Append(value.Replace('\r', ' ').Replace('\n', ' ')).Append("\r\n");

    private static void Field(StringBuilder text, string name, long value) =>
        Field(text, name, value.ToString(CultureInfo.InvariantCulture));

    private static void Field(StringBuilder text, string name, ulong value) =>
        Field(text, name, value.ToString(CultureInfo.InvariantCulture));
}
