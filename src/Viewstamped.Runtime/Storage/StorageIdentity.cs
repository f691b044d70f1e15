using System.Globalization;

namespace Viewstamped.Runtime.Storage;

/// <summary>
/// Whose data a directory holds: written once by <see cref="FileStorage.Format"/> into the superblock
/// and checked on every open, so a directory is never used for another cluster or replica.
/// </summary>
public sealed class StorageIdentity
{
    /// <summary>The most replicas a configuration may list.</summary>
    public const int ReplicasMax = 64;

    /// <summary>The most bytes of one endpoint's text.</summary>
    public const int EndpointLengthMax = 255;

    /// <summary>Creates an identity and checks it; throws <see cref="StorageException"/> (<see cref="StorageError.InvalidArgument"/>) when it is not valid.</summary>
    /// <param name="cluster">The cluster id: any nonzero 128-bit number.</param>
    /// <param name="replica">This replica's index in <paramref name="configuration"/>.</param>
    /// <param name="configuration">Every replica's endpoint (<c>HOST:PORT</c>) in index order; its count is the replica count.</param>
    public StorageIdentity(UInt128 cluster, ReplicaIndex replica, IReadOnlyList<string> configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        Cluster = cluster;
        Replica = replica;
        Configuration = [.. configuration];
        var problem = Validate();
        if (problem is not null)
        {
            throw new StorageException(StorageError.InvalidArgument, problem);
        }
    }

    /// <summary>The cluster id.</summary>
    public UInt128 Cluster { get; }

    /// <summary>This replica's index.</summary>
    public ReplicaIndex Replica { get; }

    /// <summary>The configuration: every replica's endpoint in index order.</summary>
    public IReadOnlyList<string> Configuration { get; }

    /// <summary>The number of replicas in the configuration.</summary>
    public int ReplicaCount => Configuration.Count;

    /// <summary>
    /// Parses a cluster id: <c>0x</c> followed by up to 32 hex digits, or a decimal number below 2^128.
    /// Underscores between digits are ignored. Zero is refused: it is what an unset id looks like.
    /// </summary>
    /// <param name="text">The text to parse.</param>
    /// <param name="cluster">The id, when the text is valid.</param>
    /// <param name="error">Why the text is not a cluster id, when it is not.</param>
    public static bool TryParseCluster(string text, out UInt128 cluster, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        cluster = 0;
        var digits = text.Trim().Replace("_", string.Empty, StringComparison.Ordinal);
        bool parsed;
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            var hex = digits[2..];
            parsed = hex.Length is > 0 and <= 32
                && UInt128.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out cluster);
            error = parsed ? null : $"cluster id '{text}' is not 0x followed by 1 to 32 hex digits";
        }
        else
        {
            parsed = digits.Length > 0 && digits.All(char.IsAsciiDigit)
                && UInt128.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out cluster);
            error = parsed ? null
                : digits.Any(char.IsAsciiLetter) && digits.All(char.IsAsciiHexDigit)
                    ? $"cluster id '{text}' has hex digits: write it as 0x{digits}"
                    : $"cluster id '{text}' is not a decimal number below 2^128 or 0x followed by hex digits";
        }

        if (parsed && cluster == 0)
        {
            error = "cluster id must not be zero";
            return false;
        }

        return parsed;
    }

    /// <summary>Formats a cluster id the way <see cref="TryParseCluster"/> reads it back (hex).</summary>
    public static string FormatCluster(UInt128 cluster) => "0x" + cluster.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>
    /// Checks one endpoint: <c>HOST:PORT</c> or <c>[IPv6]:PORT</c>, a port from 1 to 65535, printable
    /// ASCII and at most <see cref="EndpointLengthMax"/> characters. Returns why it is not valid, or null.
    /// </summary>
    public static string? ValidateEndpoint(string endpoint)
    {
        if (string.IsNullOrEmpty(endpoint))
        {
            return "an endpoint is empty";
        }

        if (endpoint.Length > EndpointLengthMax || !endpoint.All(c => c is > ' ' and < (char)127))
        {
            return $"endpoint '{endpoint}' must be at most {EndpointLengthMax} printable ASCII characters without spaces";
        }

        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || colon == endpoint.Length - 1)
        {
            return $"endpoint '{endpoint}' is not HOST:PORT";
        }

        var host = endpoint[..colon];
        if (host.Contains(':', StringComparison.Ordinal) && !(host.StartsWith('[') && host.EndsWith(']')))
        {
            return $"endpoint '{endpoint}': write an IPv6 address in brackets, as [::1]:PORT";
        }

        if (!ushort.TryParse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
        {
            return $"endpoint '{endpoint}' has no port from 1 to 65535";
        }

        return null;
    }

    /// <summary>Splits and checks a comma-separated configuration; returns why it is not valid, or null.</summary>
    public static string? TryParseConfiguration(string text, out IReadOnlyList<string> configuration)
    {
        ArgumentNullException.ThrowIfNull(text);
        var endpoints = text.Split(',', StringSplitOptions.TrimEntries);
        configuration = endpoints;
        if (endpoints.Length == 1 && endpoints[0].Length == 0)
        {
            return "the configuration lists no replica";
        }

        foreach (var endpoint in endpoints)
        {
            if (ValidateEndpoint(endpoint) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"cluster {FormatCluster(Cluster)}, replica {Replica} of {ReplicaCount} ({string.Join(',', Configuration)})";

    private string? Validate()
    {
        if (Cluster == 0)
        {
            return "cluster id must not be zero";
        }

        if (Configuration.Count is 0 or > ReplicasMax)
        {
            return $"the configuration must list 1 to {ReplicasMax} replicas, not {Configuration.Count}";
        }

        foreach (var endpoint in Configuration)
        {
            if (ValidateEndpoint(endpoint) is { } problem)
            {
                return problem;
            }
        }

        var duplicate = Configuration.GroupBy(e => e, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            return $"endpoint '{duplicate.Key}' is listed twice";
        }

        if (Replica.Value >= Configuration.Count)
        {
            return $"replica index {Replica} is outside the configuration of {Configuration.Count} replicas (0 to {Configuration.Count - 1})";
        }

        return null;
    }
}
