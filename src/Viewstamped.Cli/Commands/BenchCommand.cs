using System.CommandLine;
using Viewstamped.Cli.Bench;
using Viewstamped.Cli.Runtime;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr bench</c>: write throughput and latency of a key-value cluster, embedded or running.</summary>
public static class BenchCommand
{
    /// <summary>Builds the <c>bench</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var clients = new Option<int>("--clients") { Description = "Closed-loop clients (each waits for its reply before the next request).", DefaultValueFactory = _ => 16 };
        var pipeline = new Option<int>("--pipeline") { Description = "Requests each client keeps in flight.", DefaultValueFactory = _ => 1 };
        var duration = new Option<double>("--duration") { Description = "Seconds to measure (after a warm-up of a fifth of that, at most 1 s).", DefaultValueFactory = _ => 10 };
        var valueSize = new Option<int>("--value-size") { Description = "Bytes per SET value.", DefaultValueFactory = _ => 100 };
        var keys = new Option<int>("--keys") { Description = "Distinct keys the SETs go to, at random.", DefaultValueFactory = _ => 100_000 };
        var replicas = new Option<int>("--replicas") { Description = "Replicas of the embedded cluster.", DefaultValueFactory = _ => 3 };
        var target = new Option<string?>("--target") { Description = "Measure a running key-value cluster instead: its replica endpoints HOST:PORT,... (not the RESP ports)." };
        var cluster = new Option<string?>("--cluster") { Description = "With --target: the cluster id." };
        var key = new Option<string?>("--key") { Description = "With --target: the cluster key file." };
        var tls = new TlsArguments("the client's");
        tls.Certificate.Description += " With --target.";
        var json = new Option<bool>("--json") { Description = "Print one JSON object as the last line." };
        var command = new Command("bench", "Measure replicated SET throughput and latency: closed-loop clients against an embedded 3-replica cluster with durable storage (every replica fsyncs before it acknowledges), or --target a running one.")
        {
            clients, pipeline, duration, valueSize, keys, replicas, target, cluster, key, json,
        };
        foreach (var option in tls.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parse, cancellationToken) => BenchRunner.RunAsync(
            new BenchSettings
            {
                Clients = parse.GetValue(clients),
                Pipeline = parse.GetValue(pipeline),
                DurationSeconds = parse.GetValue(duration),
                ValueSize = parse.GetValue(valueSize),
                Keys = parse.GetValue(keys),
                Replicas = parse.GetValue(replicas),
                Target = parse.GetValue(target) is { } list ? Endpoints.SplitList(list) : [],
                Cluster = parse.GetValue(cluster),
                KeyFile = parse.GetValue(key),
                Tls = tls.Get(parse),
                Json = parse.GetValue(json),
            },
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }
}
