using System.Collections.Concurrent;
using System.Diagnostics;

namespace Viewstamped.Cli.Tests;

/// <summary>
/// A <c>dotnet vsr.dll ...</c> child process with its output lines collected. Disposal kills what is
/// still running, so a failed test leaves no process behind.
/// </summary>
public sealed class VsrProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> output = new();
    private readonly ConcurrentQueue<string> error = new();
    private readonly Process process;
    private readonly List<(Func<string, bool> Predicate, TaskCompletionSource<string> Source)> waiters = [];

    private VsrProcess(Process process) => this.process = process;

    public IReadOnlyCollection<string> Output => output;

    public string Describe() =>
        $"stdout:{Environment.NewLine}{string.Join(Environment.NewLine, output.TakeLast(80))}{Environment.NewLine}stderr:{Environment.NewLine}{string.Join(Environment.NewLine, error.TakeLast(80))}";

    public static VsrProcess Start(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vsr.dll"));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var started = new VsrProcess(new Process { StartInfo = info });
        started.process.OutputDataReceived += (_, e) => started.OnLine(e.Data, started.output);
        started.process.ErrorDataReceived += (_, e) => started.OnLine(e.Data, started.error);
        started.process.Start();
        started.process.BeginOutputReadLine();
        started.process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits for an output line that satisfies <paramref name="predicate"/> (one already printed counts).</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var source = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (waiters)
        {
            if (output.FirstOrDefault(predicate) is { } seen)
            {
                return seen;
            }

            waiters.Add((predicate, source));
        }

        try
        {
            return await source.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no such line within {timeout.TotalSeconds} s{Environment.NewLine}{Describe()}");
        }
    }

    /// <summary>Closes standard input (which stops <c>vsr cluster</c>) and waits for the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        process.StandardInput.Close();
        return await WaitForExitAsync(timeout);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"vsr did not exit within {timeout.TotalSeconds} s{Environment.NewLine}{Describe()}");
        }

        return process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
    }

    private void OnLine(string? line, ConcurrentQueue<string> lines)
    {
        if (line is null)
        {
            return;
        }

        lock (waiters)
        {
            lines.Enqueue(line);
            if (lines != output)
            {
                return;
            }

            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].Predicate(line))
                {
                    waiters[i].Source.TrySetResult(line);
                    waiters.RemoveAt(i);
                }
            }
        }
    }
}
