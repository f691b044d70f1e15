using System.Collections.Concurrent;
using System.Diagnostics;

namespace Viewstamped.Cli.Runtime;

/// <summary>
/// One <c>vsr replica</c> child process: started with the same arguments each time, its
/// <c>ready</c> and <c>status</c> lines read as they arrive, its other output handed to a sink.
/// Stops cleanly by closing its standard input (the replica runs with <c>--stop-on-eof</c>), or
/// dies at once with <see cref="Kill"/> (SIGKILL).
/// </summary>
internal sealed class ReplicaProcess : IDisposable
{
    private readonly IReadOnlyList<string> arguments;
    private readonly Action<int, string> sink;
    private readonly ConcurrentQueue<string> recent = new();
    private Process? process;
    private TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyDictionary<string, string>? status;

    /// <param name="index">The replica's index.</param>
    /// <param name="arguments">The arguments after <c>vsr</c>; must include <c>--stop-on-eof</c>.</param>
    /// <param name="sink">Receives every line the child prints, with the index, except status lines.</param>
    public ReplicaProcess(int index, IReadOnlyList<string> arguments, Action<int, string> sink)
    {
        Index = index;
        this.arguments = arguments;
        this.sink = sink;
    }

    public int Index { get; }

    public int Pid { get; private set; }

    public bool IsRunning => process is { HasExited: false };

    /// <summary>Completes at the child's <c>ready</c> line; faults when it exits first.</summary>
    public Task Ready => ready.Task;

    /// <summary>The RESP port from the ready line; 0 without one.</summary>
    public int RespPort { get; private set; }

    /// <summary>The fields of the latest <c>status</c> line (status, view, primary, op, commit, ...); null before the first.</summary>
    public IReadOnlyDictionary<string, string>? Status => Volatile.Read(ref status);

    /// <summary>True when the latest status says this replica is the primary in normal status.</summary>
    public bool IsNormalPrimary => IsRunning && Status is { } s && s.GetValueOrDefault("primary") == "True" && s.GetValueOrDefault("status") == "Normal";

    /// <summary>The last lines the child printed, for a failure report.</summary>
    public string RecentOutput() => string.Join(Environment.NewLine, recent);

    public void Start()
    {
        ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref status, null);
        var info = SelfLauncher.StartInfo(arguments);
        ReplicaGcSettings.Apply(info);
        var child = new Process { StartInfo = info, EnableRaisingEvents = true };
        var started = ready;
        child.OutputDataReceived += (_, e) => OnOutput(e.Data, started);
        child.ErrorDataReceived += (_, e) => OnLine(e.Data);
        child.Exited += (_, _) => started.TrySetException(new InvalidOperationException($"replica {Index} exited"));
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        process?.Dispose();
        process = child;
        Pid = child.Id;
    }

    /// <summary>SIGKILL: the replica dies at once, whatever it was writing.</summary>
    public void Kill()
    {
        if (process is { HasExited: false } running)
        {
            running.Kill(); // SIGKILL; a replica starts no processes of its own
            running.WaitForExit(10_000);
        }

        Volatile.Write(ref status, null);
    }

    /// <summary>Closes standard input (the replica stops cleanly) and waits up to <paramref name="timeout"/>, then kills it.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (process is not { } running || running.HasExited)
        {
            return;
        }

        try
        {
            running.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
        }

        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await running.WaitForExitAsync(cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            running.Kill(entireProcessTree: true);
            await running.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        Kill();
        process?.Dispose();
    }

    private void OnOutput(string? line, TaskCompletionSource started)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith("status ", StringComparison.Ordinal))
        {
            Volatile.Write(ref status, LineFields.Parse(line));
            return;
        }

        if (line.StartsWith("ready ", StringComparison.Ordinal))
        {
            RespPort = LineFields.RespPort(line);
            started.TrySetResult();
        }

        OnLine(line);
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        recent.Enqueue(line);
        while (recent.Count > 40)
        {
            recent.TryDequeue(out _);
        }

        sink(Index, line);
    }
}
