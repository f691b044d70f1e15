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

    /// <summary>Runs <c>vsr</c> with bad <paramref name="args"/>: exit 1, <paramref name="message"/> on stderr, nothing on stdout.</summary>
    public static async Task AssertBadArgumentsAsync(string message, params string[] args)
    {
        var (code, output, error) = await RunAsync(args);

        Assert.Equal(1, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output);
    }
}
