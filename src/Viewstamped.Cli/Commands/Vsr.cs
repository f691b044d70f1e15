using System.CommandLine;

namespace Viewstamped.Cli.Commands;

/// <summary>The <c>vsr</c> root command and its entry point, callable in-process (tests use it).</summary>
public static class Vsr
{
    /// <summary>Builds the root command with every subcommand, one file each under Commands/.</summary>
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("vsr: tools for the Viewstamped Replication library.");
        Command[] subcommands =
        [
            CheckCommand.Create(),
            SimulateCommand.Create(),
            ReplicaCommand.Create(),
            ClusterCommand.Create(),
            DemoCommand.Create(),
            BenchCommand.Create(),
            KeygenCommand.Create(),
            FormatCommand.Create(),
        ];
        foreach (var subcommand in subcommands)
        {
            root.Subcommands.Add(subcommand);
        }

        return root;
    }

    /// <summary>Parses <paramref name="args"/> and runs the command; the exit code is one of <see cref="ExitCodes"/>.</summary>
    /// <param name="args">The command line after <c>vsr</c>.</param>
    /// <param name="output">Standard output; the console by default.</param>
    /// <param name="error">Standard error; the console by default.</param>
    /// <param name="cancellationToken">Stops a long-running command as Ctrl-C would.</param>
    public static async Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, CancellationToken cancellationToken = default)
    {
        var configuration = new InvocationConfiguration
        {
            EnableDefaultExceptionHandler = false,
            // Ctrl-C and SIGTERM cancel the command's token; the commands that start processes then need
            // a few seconds to stop them and remove their directories before the process may end.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
        };
        if (output is not null)
        {
            configuration.Output = output;
        }

        if (error is not null)
        {
            configuration.Error = error;
        }

        var parse = CreateRoot().Parse(args);
        if (parse.Errors.Count > 0)
        {
            // Bad arguments: say what is wrong on standard error and exit 1, whatever the subcommand.
            foreach (var parseError in parse.Errors)
            {
                await configuration.Error.WriteLineAsync($"vsr: {parseError.Message}").ConfigureAwait(false);
            }

            return ExitCodes.BadArguments;
        }

        try
        {
            return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            await configuration.Error.WriteLineAsync($"vsr: unexpected error: {e}").ConfigureAwait(false);
            return ExitCodes.UnexpectedException;
        }
    }
}
