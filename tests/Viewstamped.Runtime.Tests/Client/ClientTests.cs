using System.Buffers.Binary;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Client;

public class ClientTests
{
    private static readonly TimeSpan wait = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Concurrent_invocations_spread_over_sessions_and_each_applies_once()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await using var client = cluster.CreateClient(configure: o => o.Sessions = 4);
        var totals = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ =>
            client.InvokeAsync(1, Adder.Encode, reply => BinaryPrimitives.ReadInt32LittleEndian(reply))));
        Assert.Equal(Enumerable.Range(1, 40), totals.Order());
    }

    [Fact]
    public async Task The_client_follows_a_view_change_when_the_primary_stops()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await using var client = cluster.CreateClient(configure: o => o.ResendTicks = 20);
        Assert.Equal(1, Adder.Decode(await client.InvokeAsync(Adder.Encode(1))));
        await cluster.StopReplicaAsync(0);
        var total = Adder.Decode(await client.InvokeAsync(Adder.Encode(1)).WaitAsync(wait));
        Assert.Equal(2, total);
        Assert.True(client.View.Value >= 1);
        var primary = await cluster.WaitForPrimaryAsync(wait);
        Assert.NotEqual(0, primary.Index.Value);
    }

    [Fact]
    public async Task A_sent_request_without_a_reply_ends_as_outcome_unknown_never_as_a_failure()
    {
        await using var cluster = await InProcessCluster.StartAsync(3);
        await using var client = cluster.CreateClient(configure: o =>
        {
            o.Sessions = 2;
            o.RequestTimeout = TimeSpan.FromMilliseconds(800);
        });
        await Task.WhenAll(client.InvokeAsync(Adder.Encode(1)), client.InvokeAsync(Adder.Encode(1)));
        await cluster.StopReplicaAsync(1);
        await cluster.StopReplicaAsync(2);
        var unknown = await Assert.ThrowsAsync<OutcomeUnknownException>(() => client.InvokeAsync(Adder.Encode(1)));
        Assert.Equal(OutcomeUnknownReason.TimedOut, unknown.Reason);
        Assert.Equal(2ul, unknown.RequestNumber);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var cancelled = await Assert.ThrowsAsync<OutcomeUnknownException>(() => client.InvokeAsync(Adder.Encode(1), cancel.Token));
        Assert.Equal(OutcomeUnknownReason.Canceled, cancelled.Reason);

        // Both sessions are gone; a new one cannot register without a quorum, so this one is never sent.
        using var cancelBeforeSending = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.InvokeAsync(Adder.Encode(1), cancelBeforeSending.Token));
    }

    [Fact]
    public async Task A_request_that_cannot_be_sent_times_out_as_not_executed()
    {
        var endpoints = Ports.FreeEndpoints(1);
        var options = new ViewstampedClientOptions { Cluster = 7, RequestTimeout = TimeSpan.FromMilliseconds(500) };
        options.Replicas.AddRange(endpoints);
        await using var client = new ViewstampedClient(options);
        await Assert.ThrowsAsync<TimeoutException>(() => client.InvokeAsync(Adder.Encode(1)));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.InvokeAsync(Adder.Encode(1), cancelled.Token));
    }

    [Fact]
    public void Options_are_validated()
    {
        var options = new ViewstampedClientOptions { Sessions = 0 };
        options.Replicas.Add("nowhere");
        var error = Assert.Throws<ArgumentException>(() => new ViewstampedClient(options));
        Assert.Contains("Sessions", error.Message, StringComparison.Ordinal);
        Assert.Contains("HOST:PORT", error.Message, StringComparison.Ordinal);
    }
}
