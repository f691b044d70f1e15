using System.Diagnostics;
using Xunit.Abstractions;

namespace Viewstamped.Runtime.Tests.Processes;

/// <summary>Replicas as separate processes on loopback under steady client load, with real crashes and freezes.</summary>
[Collection("processes")]
public class ProcessClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Three_replicas_survive_a_SIGKILL_of_the_primary_under_load_and_the_killed_replica_catches_up()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        await using var client = cluster.CreateClient();
        using var load = new AdderLoad(client, workers: 4, perWorkerMax: 2000, durationMax: TimeSpan.FromSeconds(40));
        await cluster.WaitUntilAsync(() => load.Acknowledged >= 100, bound, "100 acknowledged writes");

        var primary = await cluster.WaitForPrimaryAsync(bound);
        primary.Kill();
        var killedAt = Stopwatch.GetTimestamp();
        await cluster.WaitUntilAsync(() => load.FirstAcknowledgedAfter(killedAt) is not null, bound, "a write committed by a new primary");
        var failover = load.FirstAcknowledgedAfter(killedAt)!.Value;
        output.WriteLine($"failover: {failover:0.000} s from SIGKILL of replica {primary.Index} to the first write acknowledged in the new view");
        Assert.True(failover < 10, $"failover took {failover} s");
        var newPrimary = await cluster.WaitForPrimaryAsync(bound, except: primary.Index);
        var acknowledgedBefore = load.Acknowledged;
        await cluster.WaitUntilAsync(() => load.Acknowledged >= acknowledgedBefore + 100, bound, "100 more writes in the new view");

        primary.Start();
        await primary.WaitReadyAsync(bound);
        var target = newPrimary.Get("commit");
        await cluster.WaitUntilAsync(() => primary.Status is { } s && s["status"] == "Normal" && primary.Get("executed") >= target, bound, $"replica {primary.Index} catching up to op {target}");

        await load.StopAsync();
        await CheckConvergedAsync(cluster, load);
        output.WriteLine($"load: {load}");
    }

    [Fact]
    public async Task Five_replicas_survive_a_frozen_backup_and_a_SIGKILL_of_the_primary_under_load()
    {
        await using var cluster = await ProcessCluster.StartAsync(5);
        await using var client = cluster.CreateClient();
        using var load = new AdderLoad(client, workers: 4, perWorkerMax: 2000, durationMax: TimeSpan.FromSeconds(40));
        await cluster.WaitUntilAsync(() => load.Acknowledged >= 100, bound, "100 acknowledged writes");

        var primary = await cluster.WaitForPrimaryAsync(bound);
        var backup = cluster.Replicas.First(r => r.Index != primary.Index);
        backup.Suspend();
        var acknowledgedBefore = load.Acknowledged;
        await cluster.WaitUntilAsync(() => load.Acknowledged >= acknowledgedBefore + 200, bound, "200 writes while a backup is frozen");
        backup.Resume();
        var target = primary.Get("commit");
        await cluster.WaitUntilAsync(() => backup.Get("executed") >= target, bound, $"frozen replica {backup.Index} catching up to op {target}");

        primary.Kill();
        var killedAt = Stopwatch.GetTimestamp();
        await cluster.WaitUntilAsync(() => load.FirstAcknowledgedAfter(killedAt) is not null, bound, "a write committed by a new primary");
        output.WriteLine($"failover: {load.FirstAcknowledgedAfter(killedAt):0.000} s");
        await cluster.WaitForPrimaryAsync(bound, except: primary.Index);
        acknowledgedBefore = load.Acknowledged;
        await cluster.WaitUntilAsync(() => load.Acknowledged >= acknowledgedBefore + 100, bound, "100 more writes in the new view");

        await load.StopAsync();
        await CheckConvergedAsync(cluster, load);
        output.WriteLine($"load: {load}");
    }

    private static async Task CheckConvergedAsync(ProcessCluster cluster, AdderLoad load)
    {
        // Status lines come every 50 ms from each process: wait until every running replica reports
        // the same op and total, at least the highest acknowledged total, twice 200 ms apart.
        var running = cluster.Replicas.Where(r => r.IsRunning).ToList();
        (long Total, long Executed)? Agreed()
        {
            var states = running.Select(r => (Total: r.Get("total"), Executed: r.Get("executed"))).Distinct().ToList();
            return states.Count == 1 && states[0].Total >= load.HighestAcknowledged ? states[0] : null;
        }

        var agreed = Agreed();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await Task.Delay(200);
            var again = Agreed();
            if (again is not null && again == agreed)
            {
                break;
            }

            agreed = again;
            Assert.True(clock.Elapsed < bound, $"the replicas did not converge:{Environment.NewLine}{cluster.Describe()}");
        }

        load.Check(agreed!.Value.Total);
    }
}
