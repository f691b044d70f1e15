using System.Diagnostics;

namespace Viewstamped.Runtime.Diagnostics;

/// <summary>
/// The names under which the runtime publishes telemetry: one <see cref="System.Diagnostics.Metrics.Meter"/>
/// and one <see cref="System.Diagnostics.ActivitySource"/>, both named <c>Viewstamped</c>. Listen to them
/// with any metrics or tracing pipeline (dotnet-counters, OpenTelemetry, a MeterListener).
/// </summary>
public static class ViewstampedTelemetry
{
    /// <summary>The meter's name: <c>Viewstamped</c>.</summary>
    public const string MeterName = "Viewstamped";

    /// <summary>The activity source's name: <c>Viewstamped</c>.</summary>
    public const string ActivitySourceName = "Viewstamped";

    /// <summary>Tag naming the replica index on every replica instrument.</summary>
    public const string ReplicaTag = "vsr.replica";

    /// <summary>Tag naming the reason on rejection counters.</summary>
    public const string ReasonTag = "vsr.reason";

    /// <summary>Tag naming the reply status on request-duration histograms.</summary>
    public const string StatusTag = "vsr.status";

    /// <summary>Tag naming the direction (<c>in</c> or <c>out</c>) on byte counters.</summary>
    public const string DirectionTag = "vsr.direction";

    /// <summary>The source of request activities: <c>vsr.client.invoke</c> at the client, <c>vsr.replica.request</c> at the primary.</summary>
    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName, "1.0");
}
