using System.CommandLine;
using Viewstamped.Cli.Commands;

var root = new RootCommand("vsr: tools for the Viewstamped Replication library.");

// Every subcommand, one file each under Commands/. Register new subcommands here.
Command[] subcommands =
[
    CheckCommand.Create(),
    SimulateCommand.Create(),
    ReplicaCommand.Create(),
    ClusterCommand.Create(),
    KeygenCommand.Create(),
    FormatCommand.Create(),
];

foreach (var subcommand in subcommands)
{
    root.Subcommands.Add(subcommand);
}

try
{
    return root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e)
{
    Console.Error.WriteLine($"vsr: unexpected error: {e}");
    return ExitCodes.UnexpectedException;
}
