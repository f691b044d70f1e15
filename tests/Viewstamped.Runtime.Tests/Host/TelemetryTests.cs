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

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_primary_s_request_activity_joins_the_trace_of_the_client_s_invocation(bool authenticated)
    {
        using var source = new ActivitySource("Viewstamped.Tests.Tracing");
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == ViewstampedTelemetry.ActivitySourceName || s == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);

        await using var cluster = await InProcessCluster.StartAsync(3, authenticated ? Viewstamped.Runtime.Security.ClusterKey.Generate() : null);
        await using var client = cluster.CreateClient();
        Assert.Equal(1, Adder.Decode(await client.InvokeAsync(Adder.Encode(1)))); // registers the session
        ActivityTraceId traceId;
        using (var operation = source.StartActivity("test.operation")!)
        {
            traceId = operation.TraceId;
            Assert.Equal(3, Adder.Decode(await client.InvokeAsync(Adder.Encode(2))));
        }

        var inTrace = new List<Activity>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((inTrace = stopped.Where(a => a.TraceId == traceId).ToList()).Count < 3)
        {
            await Task.Delay(10, cts.Token);
        }

        var invoke = Assert.Single(inTrace, a => a.OperationName == "vsr.client.invoke");
        var request = Assert.Single(inTrace, a => a.OperationName == "vsr.replica.request");
        Assert.Equal(inTrace.Single(a => a.OperationName == "test.operation").SpanId, invoke.ParentSpanId);
        Assert.Equal(invoke.SpanId, request.ParentSpanId);
        Assert.True(request.HasRemoteParent);
        Assert.Equal(ActivityKind.Server, request.Kind);
        Assert.Equal("Ok", request.GetTagItem(ViewstampedTelemetry.StatusTag));
    }
}
