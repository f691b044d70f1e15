using System.Diagnostics;
using Viewstamped.KeyValue;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Runtime.Tests.Security;
using Xunit.Abstractions;

namespace Viewstamped.Runtime.Tests.Processes;

/// <summary>
/// Key-value replicas as separate <c>vsr replica --service kv</c> processes on loopback under steady
/// client load, with real crashes (SIGKILL) and freezes (SIGSTOP/SIGCONT). The recorded client
/// history must be linearizable, which also means no acknowledged write is lost.
/// </summary>
[Collection("processes")]
public class ProcessClusterTests(ITestOutputHelper output)
{
    private static readonly TimeSpan bound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Three_replicas_survive_a_SIGKILL_of_the_primary_under_load_and_the_killed_replica_catches_up()
    {
        await using var cluster = await ProcessCluster.StartAsync(3);
        await using var client = cluster.CreateClient();
        using var load = new KeyValueLoad(client, workers: 4, perWorkerMax: 1500, durationMax: TimeSpan.FromSeconds(25));
        await cluster.WaitUntilAsync(() => load.Acknowledged >= 100, bound, "100 acknowledged operations");

        var primary = await KillPrimaryAsync(cluster, load);
        var newPrimary = await cluster.WaitForPrimaryAsync(bound, except: primary.Index);
        var acknowledgedBefore = load.Acknowledged;
        await cluster.WaitUntilAsync(() => load.Acknowledged >= acknowledgedBefore + 100, bound, "100 more operations in the new view");

        primary.Start();
        await primary.WaitReadyAsync(bound);
        var target = newPrimary.Get("commit");
        await cluster.WaitUntilAsync(() => primary.Status is { } s && s["status"] == "Normal" && primary.Get("executed") >= target, bound, $"replica {primary.Index} catching up to op {target}");

        await load.StopAsync();
        await CheckConvergedAsync(cluster);
        output.WriteLine($"load: {load}; {await load.CheckLinearizableAsync()}");
    }

    [Fact]
    public async Task Five_replicas_survive_a_frozen_backup_and_a_SIGKILL_of_the_primary_under_load()
    {
        await using var cluster = await ProcessCluster.StartAsync(5);
        await using var client = cluster.CreateClient();
        using var load = new KeyValueLoad(client, workers: 4, perWorkerMax: 1500, durationMax: TimeSpan.FromSeconds(25));
        await cluster.WaitUntilAsync(() => load.Acknowledged >= 100, bound, "100 acknowledged operations");

        var primary = await cluster.WaitForPrimaryAsync(bound);
        var backup = cluster.Replicas.First(r => r.Index != primary.Index);
        backup.Suspend();
        var acknowledgedBefore = load.Acknowledged;
        await cluster.WaitUntilAsync(() => load.Acknowledged >= acknowledgedBefore + 200, bound, "200 operations while a backup is frozen");
        var frozenAt = backup.Get("executed");
        backup.Resume();
        var target = primary.Get("commit");
        Assert.True(target > frozenAt, $"the cluster committed past op {frozenAt} while replica {backup.Index} was frozen");
        await cluster.WaitUntilAsync(() => backup.Get("executed") >= target, bound, $"frozen replica {backup.Index} catching up to op {target}");

        primary = await KillPrimaryAsync(cluster, load);
        await cluster.WaitForPrimaryAsync(bound, except: primary.Index);
        acknowledgedBefore = load.Acknowledged;
        await cluster.WaitUntilAsync(() => load.Acknowledged >= acknowledgedBefore + 100, bound, "100 more operations in the new view");

        await load.StopAsync();
        await CheckConvergedAsync(cluster);
        output.WriteLine($"load: {load}; {await load.CheckLinearizableAsync()}");
    }

    [Fact]
    public async Task Three_replicas_with_mutual_TLS_refuse_certificates_of_another_CA_and_survive_a_SIGKILL_of_the_primary_under_load()
    {
        using var ca = new TestCertificates();
        using var otherCa = new TestCertificates("Another CA");
        await using var cluster = await ProcessCluster.StartAsync(3, authority: ca);
        await using var client = cluster.CreateClient();
        Assert.Equal("+OK\r\n", System.Text.Encoding.ASCII.GetString(await client.InvokeAsync(KeyValueOperation.Encode("SET", "outside-the-history", "first"))));

        // A client and a replica with certificates of another CA: each refused, with the reason and its address logged.
        await using (var intruder = cluster.CreateClient(otherCa.Credentials("intruder"), TimeSpan.FromSeconds(1)))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => intruder.InvokeAsync(KeyValueOperation.Encode("SET", "outside-the-history", "intruder")));
        }

        // The rogue claims replica 0, which dials the others, and trusts the cluster's CA too, so that it goes on to present its own certificate.
        var rogueDirectory = Directory.CreateDirectory(Path.Combine(cluster.Root, "rogue")).FullName;
        var (certificate, key, authority) = otherCa.WritePem(rogueDirectory, TestCertificates.ReplicaName(cluster.Cluster, 0));
        File.AppendAllText(authority, Environment.NewLine + ca.Authority.ExportCertificatePem());
        await using (var rogue = new ReplicaProcess(0, [
            "replica", "--cluster", StorageIdentity.FormatCluster(cluster.Cluster), "--replica", "0", "--replicas", string.Join(',', cluster.Endpoints),
            "--listen", Ports.FreeEndpoints(1)[0], "--service", "kv", "--tls-cert", certificate, "--tls-key", key, "--tls-ca", authority, "--stop-on-eof"]))
        {
            rogue.Start();
            await rogue.WaitReadyAsync(bound);
            foreach (var subject in new[] { "CN=intruder", "CN=replica-0" })
            {
                await cluster.WaitUntilAsync(
                    () => cluster.Replicas.Any(r => r.Logged("Refused connection from 127.0.0.1:", $"its TLS certificate ({subject}) does not chain to the cluster's certificate authority")),
                    bound,
                    $"a logged refusal of {subject} (the rogue replica's log: {rogue.Log()})");
            }
        }

        // The cluster serves on: load, a SIGKILL of the primary, and nothing acknowledged lost.
        using var load = new KeyValueLoad(client, workers: 4, perWorkerMax: 1500, durationMax: TimeSpan.FromSeconds(25));
        await cluster.WaitUntilAsync(() => load.Acknowledged >= 100, bound, "100 acknowledged operations");
        var primary = await KillPrimaryAsync(cluster, load);
        await cluster.WaitForPrimaryAsync(bound, except: primary.Index);
        var acknowledgedBefore = load.Acknowledged;
        await cluster.WaitUntilAsync(() => load.Acknowledged >= acknowledgedBefore + 100, bound, "100 more operations in the new view");

        await load.StopAsync();
        await CheckConvergedAsync(cluster);
        output.WriteLine($"load: {load}; {await load.CheckLinearizableAsync()}");
    }

    /// <summary>SIGKILLs the current primary and waits for a write committed by a new one.</summary>
    private async Task<ReplicaProcess> KillPrimaryAsync(ProcessCluster cluster, KeyValueLoad load)
    {
        var primary = await cluster.WaitForPrimaryAsync(bound);
        primary.Kill();
        var killedAt = Stopwatch.GetTimestamp();
        await cluster.WaitUntilAsync(() => load.FirstWriteAcknowledgedAfter(killedAt) is not null, bound, "a write committed by a new primary");
        var failover = load.FirstWriteAcknowledgedAfter(killedAt)!.Value;
        output.WriteLine($"failover: {failover:0.000} s from SIGKILL of replica {primary.Index} to the first write acknowledged in the new view");
        Assert.True(failover < 10, $"failover took {failover} s");
        return primary;
    }

    /// <summary>Waits until every running replica reports the same executed op, twice 200 ms apart (status lines come every 50 ms).</summary>
    private static async Task CheckConvergedAsync(ProcessCluster cluster)
    {
        var running = cluster.Replicas.Where(r => r.IsRunning).ToList();
        long? Agreed()
        {
            var states = running.Select(r => (Executed: r.Get("executed"), Commit: r.Get("commit"))).Distinct().ToList();
            return states.Count == 1 && states[0].Executed == states[0].Commit ? states[0].Executed : null;
        }

        var agreed = Agreed();
        var clock = Stopwatch.StartNew();
        while (true)
        {
            await Task.Delay(200);
            var again = Agreed();
            if (again is not null && again == agreed)
            {
                return;
            }

            agreed = again;
            Assert.True(clock.Elapsed < bound, $"the replicas did not converge:{Environment.NewLine}{cluster.Describe()}");
        }
    }
}
