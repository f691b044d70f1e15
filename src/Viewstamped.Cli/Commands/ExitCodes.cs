namespace Viewstamped.Cli.Commands;

/// <summary>Process exit codes shared by every <c>vsr</c> subcommand.</summary>
public static class ExitCodes
{
    /// <summary>Everything checked out.</summary>
    public const int Ok = 0;

    /// <summary>Bad command-line arguments or unreadable/malformed input.</summary>
    public const int BadArguments = 1;

    /// <summary>A safety property was violated (for example a history is not linearizable).</summary>
    public const int Correctness = 10;

    /// <summary>A liveness property was violated (for example the cluster stopped making progress).</summary>
    public const int Liveness = 11;

    /// <summary>The tool itself crashed with an unhandled exception.</summary>
    public const int UnexpectedException = 12;

    /// <summary>
    /// Writes each of a command's <paramref name="problems"/> with its <paramref name="command"/> name.
    /// Returns true when there were any, so the caller exits with <see cref="BadArguments"/>.
    /// </summary>
    public static async Task<bool> ReportProblemsAsync(string command, IReadOnlyList<string> problems, TextWriter error)
    {
        foreach (var problem in problems)
        {
            await error.WriteLineAsync($"vsr {command}: {problem}").ConfigureAwait(false);
        }

        return problems.Count > 0;
    }
}
