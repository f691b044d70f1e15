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
        var command = new Command("cluster", "Run a local cluster of replica processes on 127.0.0.1 with free ports and a new key; prints the endpoints; Ctrl-C or end of input stops it.")
        {
            replicas, data, tick, unauthenticated,
        };
        command.SetAction((parse, cancellationToken) => ClusterRunner.RunAsync(
            new ClusterSettings(parse.GetValue(replicas), parse.GetValue(data), parse.GetValue(tick), parse.GetValue(unauthenticated)),
            parse.InvocationConfiguration.Output,
            parse.InvocationConfiguration.Error,
            cancellationToken));
        return command;
    }
}
