using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Host;
using Viewstamped.Runtime.Hosting;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Tests.Host;
using Viewstamped.Samples;

namespace Viewstamped.Runtime.Tests.Hosting;

public class HostingTests
{
    [Fact]
    public async Task A_generic_host_app_with_the_adder_starts_serves_and_stops_cleanly()
    {
        var endpoint = Ports.FreeEndpoints(1)[0];
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Viewstamped:Cluster"] = "1234",
            ["Viewstamped:Replica"] = "0",
            ["Viewstamped:Replicas:0"] = endpoint,
            ["Viewstamped:TickInterval"] = "00:00:00.010",
            ["Viewstamped:HeartbeatTicks"] = "5",
        });
        builder.Services.AddViewstampedReplica<Adder>(builder.Configuration.GetSection(ReplicaHostOptions.SectionName));
        using var app = builder.Build();
        await app.StartAsync();
        var replica = app.Services.GetRequiredService<ViewstampedReplicaService<Adder>>();
        Assert.Equal((UInt128)1234, app.Services.GetRequiredService<IOptions<ReplicaHostOptions>>().Value.Cluster);
        Assert.Equal(5, app.Services.GetRequiredService<IOptions<ReplicaHostOptions>>().Value.HeartbeatTicks);

        var options = new ViewstampedClientOptions { Cluster = 1234 };
        options.Replicas.Add(endpoint);
        await using (var client = new ViewstampedClient(options))
        {
            Assert.Equal(3, Adder.Decode(await client.InvokeAsync(Adder.Encode(3))));
            Assert.Equal(7, Adder.Decode(await client.InvokeAsync(Adder.Encode(4))));
        }

        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await app.StopAsync(stopTimeout.Token);
        Assert.True(replica.Host!.Completion.IsCompletedSuccessfully);
        Assert.Null(replica.Fault);
        Assert.Equal(7, replica.Service!.Total);
    }

    [Fact]
    public async Task Invalid_options_fail_the_start_with_every_reason()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddViewstampedReplica<Adder>(o =>
        {
            o.Replica = 2;
            o.Replicas.Add("127.0.0.1:0");
            o.TickInterval = TimeSpan.Zero;
        });
        using var app = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(error.Failures, f => f.Contains("Replica must be an index", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("TickInterval", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("port from 1 to 65535", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(-1L, 256L * 1024, "CheckpointBytesInterval")]
    [InlineData(32L << 20, -1L, "ViewChangeCommittedBytesMax")]
    public void Negative_log_byte_limits_are_refused_by_name(long checkpointBytes, long viewChangeBytes, string name)
    {
        var options = new ReplicaHostOptions { CheckpointBytesInterval = checkpointBytes, ViewChangeCommittedBytesMax = viewChangeBytes };
        options.Replicas.Add("127.0.0.1:7000");
        Assert.Contains(options.Validate(), e => e.Contains(name, StringComparison.Ordinal));
        Assert.Empty(new ReplicaHostOptions { Replicas = { "127.0.0.1:7000" } }.Validate());
    }

    [Fact]
    public void A_negative_collection_threshold_is_refused_by_name()
    {
        var options = new ReplicaHostOptions { CollectAfterCheckpointBytes = -1, Replicas = { "127.0.0.1:7000" } };
        Assert.Contains(options.Validate(), e => e.Contains("CollectAfterCheckpointBytes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_data_directory_supplies_the_identity_and_keeps_the_state_across_restarts()
    {
        var endpoint = Ports.FreeEndpoints(1)[0];
        var directory = Path.Combine(Path.GetTempPath(), $"vsr-hosting-{Guid.NewGuid():N}");
        FileStorage.Format(directory, new StorageIdentity(99, new ReplicaIndex(0), [endpoint]));
        try
        {
            for (var run = 1; run <= 2; run++)
            {
                var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
                builder.Services.AddViewstampedReplica<Adder>(o => o.DataDirectory = directory);
                using var app = builder.Build();
                await app.StartAsync();
                var options = new ViewstampedClientOptions { Cluster = 99 };
                options.Replicas.Add(endpoint);
                await using (var client = new ViewstampedClient(options))
                {
                    Assert.Equal(10 * run, Adder.Decode(await client.InvokeAsync(Adder.Encode(10))));
                }

                await app.StopAsync();
            }

            // Stopping the host closed its storage cleanly, so even after a reboot (another boot id) its tail is certain.
            using var reopened = FileStorage.Open(directory, 99, new ReplicaIndex(0), new FileStorageOptions { BootId = Guid.NewGuid() });
            Assert.False(reopened.Load().TailUncertain, reopened.Health.ToString());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
