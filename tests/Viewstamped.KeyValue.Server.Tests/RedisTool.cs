using System.ComponentModel;
using System.Diagnostics;
using System.Net;

namespace Viewstamped.KeyValue.Server.Tests;

/// <summary>
/// Runs redis-cli or redis-benchmark (Debian's redis-tools; <c>.ci/run</c> installs them) against an
/// endpoint, bounded in time. A missing tool fails the test with a message saying how to install it.
/// </summary>
internal static class RedisTool
{
    public static Task<(int ExitCode, string Output, string Error)> RunAsync(string tool, IPEndPoint endpoint, TimeSpan timeout, params string[] arguments) =>
        RunAsync(tool, endpoint, timeout, CancellationToken.None, arguments);

    /// <summary>
    /// Runs the tool until it exits, or until <paramref name="stop"/> fires (it is then killed and
    /// the exit code is -1); past <paramref name="timeout"/> it is killed and this throws.
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(
        string tool, IPEndPoint endpoint, TimeSpan timeout, CancellationToken stop, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-h");
        start.ArgumentList.Add(endpoint.Address.ToString());
        start.ArgumentList.Add("-p");
        start.ArgumentList.Add(endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{tool} is not installed: apt-get install -y redis-tools (.ci/run does it)", e);
        }

        using (process)
        {
            process.StandardInput.Close();
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stop);
            cts.CancelAfter(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                return (-1, await output, await error);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
                throw new TimeoutException($"{tool} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds} s; it printed:\n{await output}\n{await error}");
            }

            return (process.ExitCode, await output, await error);
        }
    }

    /// <summary>redis-cli with one command; its output without a trailing newline.</summary>
    public static async Task<string> CliAsync(IPEndPoint endpoint, params string[] command)
    {
        var (code, output, error) = await RunAsync("redis-cli", endpoint, TimeSpan.FromSeconds(20), command);
        Assert.True(code == 0, $"redis-cli {string.Join(' ', command)} exited with {code}: {error}");
        return output.TrimEnd('\n');
    }
}
