using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Viewstamped.Runtime.Diagnostics;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Host;

public class TelemetryTests
{
    [Fact]
    public async Task The_meter_and_the_activity_source_report_commits_latency_bytes_and_requests()
    {
        var measurements = new ConcurrentDictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ViewstampedTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => measurements.AddOrUpdate(instrument.Name, value, (_, v) => v + value));
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => measurements.AddOrUpdate(instrument.Name, 1, (_, v) => v + 1));
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => measurements.AddOrUpdate(instrument.Name, value, (_, v) => v + value));
        listener.Start();
        var activities = new ConcurrentBag<string>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ViewstampedTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity => activities.Add(activity.OperationName),
        };
        ActivitySource.AddActivityListener(activityListener);

        await using (var cluster = await InProcessCluster.StartAsync(3))
        {
            await using var client = cluster.CreateClient();
            for (var i = 0; i < 5; i++)
            {
                await client.InvokeAsync(Adder.Encode(1));
            }

            listener.RecordObservableInstruments();
        }

        Assert.True(measurements.GetValueOrDefault("vsr.replica.commits") >= 6, string.Join(", ", measurements));
        Assert.True(measurements.GetValueOrDefault("vsr.replica.request.duration") >= 5);
        Assert.True(measurements.GetValueOrDefault("vsr.transport.bytes") > 0);
        Assert.True(measurements.ContainsKey("vsr.replica.persist.duration"));
        Assert.True(measurements.ContainsKey("vsr.replica.inbox.depth"));
        Assert.True(measurements.ContainsKey("vsr.transport.send_queue.depth"));
        Assert.True(measurements.GetValueOrDefault("vsr.client.request.duration") >= 5);
        Assert.Contains("vsr.client.invoke", activities);
        Assert.Contains("vsr.replica.request", activities);
    }
}
