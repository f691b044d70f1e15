using System.CommandLine;
using Viewstamped.Cli.Demo;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr demo</c>: a failover with nothing lost, on a local 3-replica key-value cluster.</summary>
public static class DemoCommand
{
    /// <summary>Builds the <c>demo</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var duration = new Option<double>("--duration") { Description = "Seconds the clients run.", DefaultValueFactory = _ => 20 };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients.", DefaultValueFactory = _ => 4 };
        var plain = new Option<bool>("--plain") { Description = "Plain progress lines instead of the live view (the default when output is not a terminal)." };
        var command = new Command("demo", "Start a local 3-replica key-value cluster (real processes, durable storage in a temporary directory), run clients, kill the primary with SIGKILL and restart it, then read back every acknowledged write and check the history for linearizability. Exit 0 ok, 10 a lost write or a non-linearizable history, 11 no progress.")
        {
            duration, clients, plain,
        };
        command.SetAction((parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var live = !parse.GetValue(plain) && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
            return DemoRunner.RunAsync(
                new DemoSettings(parse.GetValue(duration), parse.GetValue(clients), live),
                output,
                parse.InvocationConfiguration.Error,
                cancellationToken);
        });
        return command;
    }
}
