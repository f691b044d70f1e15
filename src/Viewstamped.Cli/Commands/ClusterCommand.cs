using System.CommandLine;
using Viewstamped.Cli.Runtime;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr cluster</c>: runs a local cluster of replica processes on 127.0.0.1.</summary>
public static class ClusterCommand
{
    /// <summary>Builds the <c>cluster</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var replicas = new Option<int>("--replicas") { Description = "Number of replicas.", DefaultValueFactory = _ => 3 };
        var data = new Option<string?>("--data")
        {
            Description = "Directory for the cluster key and the replicas' data; a cluster formatted there before is restarted. Default: a temporary directory, removed at the end.",
        };
        var tick = new Option<int>("--tick-ms") { Description = "Milliseconds per logical tick.", DefaultValueFactory = _ => 10 };
        var unauthenticated = new Option<bool>("--unauthenticated") { Description = "Run without a cluster key (the replicas warn)." };
        var service = new Option<string>("--service") { Description = "The replicated service: kv (the key-value store, each replica serving RESP for redis-cli and Redis clients) or adder (the sample).", DefaultValueFactory = _ => "kv" };
        service.AcceptOnlyFromAmong("kv", "adder");
        var requirePass = new Option<string?>("--requirepass") { Description = "With --service kv: RESP clients must AUTH with this password." };
        var checkpointBytes = new Option<long?>("--checkpoint-bytes")
        {
            Description = "Each replica also takes a checkpoint once this many bytes of log were executed since the last one; 0: by op count only. Default 33554432 (32 MiB).",
        };
        var command = new Command("cluster", "Run a local cluster of replica processes on 127.0.0.1 with free ports and a new key, serving the key-value store over RESP by default; prints the endpoints and redis-cli commands; Ctrl-C or end of input stops it.")
        {
            replicas, data, tick, unauthenticated, service, requirePass, checkpointBytes,
        };
        command.SetAction((parse, cancellationToken) => ClusterRunner.RunAsync(
            new ClusterSettings(
                parse.GetValue(replicas), parse.GetValue(data), parse.GetValue(tick), parse.GetValue(unauthenticated),
                parse.GetValue(service)!, parse.GetValue(requirePass), parse.GetValue(checkpointBytes)),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }
}
