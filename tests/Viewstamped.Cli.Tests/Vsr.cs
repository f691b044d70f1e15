using Viewstamped.Cli.Commands;

namespace Viewstamped.Cli.Tests;

/// <summary>Runs <c>vsr</c> in this process and captures what it prints.</summary>
internal static class VsrInProcess
{
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var code = await Vsr.RunAsync(args, output, error, timeout.Token);
        return (code, output.ToString(), error.ToString());
    }
}
