using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Viewstamped.Runtime.Diagnostics;

/// <summary>
/// The client's instruments on the <see cref="ViewstampedTelemetry.MeterName"/> meter:
/// <c>vsr.client.request.duration</c> (seconds per invocation, tagged with its outcome) and
/// <c>vsr.client.sessions.registered</c>.
/// </summary>
internal sealed class ClientMetrics : IDisposable
{
    private readonly Meter meter;
    private readonly bool ownsMeter;
    private readonly Histogram<double> duration;
    private readonly Counter<long> sessions;

    public ClientMetrics(IMeterFactory? meterFactory)
    {
        meter = meterFactory?.Create(ViewstampedTelemetry.MeterName) ?? new Meter(ViewstampedTelemetry.MeterName, "1.0");
        ownsMeter = meterFactory is null;
        duration = meter.CreateHistogram<double>("vsr.client.request.duration", "s", "Time from invocation to outcome, tagged vsr.status (ok, service_error, unknown, timeout, canceled)");
        sessions = meter.CreateCounter<long>("vsr.client.sessions.registered", "{session}", "Sessions registered");
    }

    public void Outcome(double seconds, string outcome) => duration.Record(seconds, new KeyValuePair<string, object?>(ViewstampedTelemetry.StatusTag, outcome));

    public void SessionRegistered() => sessions.Add(1);

    public static Activity? StartInvoke() => ViewstampedTelemetry.ActivitySource.StartActivity("vsr.client.invoke", ActivityKind.Client);

    public void Dispose()
    {
        if (ownsMeter)
        {
            meter.Dispose();
        }
    }
}
