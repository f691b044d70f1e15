using Viewstamped.Cli.Runtime;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Cli.Bench;

/// <summary>What <c>vsr bench</c> was asked to measure.</summary>
public sealed record BenchSettings
{
    /// <summary>Closed-loop clients: each waits for its reply before it sends again.</summary>
    public int Clients { get; init; } = 16;

    /// <summary>Requests each client keeps in flight (one session per request).</summary>
    public int Pipeline { get; init; } = 1;

    /// <summary>How long to measure, in seconds, after a short warm-up.</summary>
    public double DurationSeconds { get; init; } = 10;

    /// <summary>Bytes per SET value.</summary>
    public int ValueSize { get; init; } = 100;

    /// <summary>Distinct keys the SETs spread over.</summary>
    public int Keys { get; init; } = 100_000;

    /// <summary>Replicas of the embedded cluster (ignored with <see cref="Target"/>).</summary>
    public int Replicas { get; init; } = 3;

    /// <summary>Replica endpoints of a running key-value cluster; empty for an embedded cluster.</summary>
    public IReadOnlyList<string> Target { get; init; } = [];

    /// <summary>The target cluster's id (required with <see cref="Target"/>), as text.</summary>
    public string? Cluster { get; init; }

    /// <summary>The target cluster's key file.</summary>
    public string? KeyFile { get; init; }

    /// <summary>Mutual TLS files of a client certificate for the target cluster; null without TLS.</summary>
    public SecurityConfig? Tls { get; init; }

    /// <summary>Print one JSON object as the last line.</summary>
    public bool Json { get; init; }

    /// <summary>The clients share one <c>ViewstampedClient</c> (connections and driver loop) per this many.</summary>
    public const int ClientsPerConnection = 8;

    /// <summary>The problems with these settings, each a sentence for the user; empty when they are fine.</summary>
    public IReadOnlyList<string> Validate(out UInt128 cluster)
    {
        cluster = 0;
        var errors = new List<string>();
        if (Clients is < 1 or > 4096)
        {
            errors.Add("--clients must be 1 to 4096");
        }

        if (Pipeline is < 1 or > 256)
        {
            errors.Add("--pipeline must be 1 to 256");
        }

        if (!(DurationSeconds is >= 0.5 and <= 86_400))
        {
            errors.Add("--duration must be 0.5 to 86400 seconds");
        }

        if (ValueSize is < 1 or > 1 << 20)
        {
            errors.Add("--value-size must be 1 to 1048576 bytes");
        }

        if (Keys is < 1 or > 100_000_000)
        {
            errors.Add("--keys must be 1 to 100000000");
        }

        if (Target.Count == 0)
        {
            if (Replicas is < 1 or > 9)
            {
                errors.Add("--replicas must be 1 to 9");
            }

            if (Cluster is not null || KeyFile is not null || Tls is not null)
            {
                errors.Add("--cluster, --key and --tls-* go with --target");
            }

            return errors;
        }

        foreach (var endpoint in Target)
        {
            if (!Endpoints.TryParse(endpoint, out _, out var error))
            {
                errors.Add($"--target: {error}");
            }
        }

        if (Cluster is null)
        {
            errors.Add("--target needs --cluster ID (the id 'vsr cluster' or 'vsr format' printed)");
        }
        else if (!StorageIdentity.TryParseCluster(Cluster, out cluster, out var clusterError))
        {
            errors.Add($"--cluster: {clusterError}");
        }

        if (KeyFile is not null && !File.Exists(KeyFile))
        {
            errors.Add($"--key: no such file '{KeyFile}'");
        }

        if (Tls is not null && TlsArguments.Check(Tls) is { } tlsProblem)
        {
            errors.Add(tlsProblem);
        }

        return errors;
    }
}
