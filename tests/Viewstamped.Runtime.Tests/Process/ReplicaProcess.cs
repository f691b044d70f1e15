using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Viewstamped.Runtime.Tests.Processes;

/// <summary>One <c>vsr replica</c> child process, its status lines parsed as they arrive.</summary>
public sealed class ReplicaProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> log = new();
    private readonly List<string> arguments;
    private System.Diagnostics.Process? process;
    private TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyDictionary<string, string>? status;

    public ReplicaProcess(int index, IEnumerable<string> arguments)
    {
        Index = index;
        this.arguments = arguments.ToList();
    }

    public int Index { get; }

    public int Pid => process?.Id ?? 0;

    public bool IsRunning => process is { HasExited: false };

    /// <summary>The latest status line, as key/value pairs (replica, status, view, primary, op, commit, executed, total, ...).</summary>
    public IReadOnlyDictionary<string, string>? Status => Volatile.Read(ref status);

    public bool IsNormalPrimary => Status is { } s && s["primary"] == "True" && s["status"] == "Normal";

    public long Get(string field) => Status is { } s ? long.Parse(s[field], CultureInfo.InvariantCulture) : -1;

    /// <summary>The path of the built CLI: VSR_CLI_DLL, else the CLI project's output next to this test build.</summary>
    public static string CliPath()
    {
        if (Environment.GetEnvironmentVariable("VSR_CLI_DLL") is { Length: > 0 } configured)
        {
            return configured;
        }

        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var framework = baseDirectory.Name;
        var configuration = baseDirectory.Parent?.Name ?? "Debug";
        for (var directory = baseDirectory; directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Viewstamped.slnx")))
            {
                var candidates = new[] { configuration, "Release", "Debug" }
                    .Select(c => Path.Combine(directory.FullName, "src", "Viewstamped.Cli", "bin", c, framework, "vsr.dll"))
                    .Where(p => File.Exists(p) && File.Exists(Path.ChangeExtension(p, ".runtimeconfig.json")))
                    .ToList();
                if (candidates.Count > 0)
                {
                    return candidates[0];
                }
            }
        }

        throw new FileNotFoundException($"vsr.dll not found above {AppContext.BaseDirectory}; build src/Viewstamped.Cli (the test project references it) or set VSR_CLI_DLL");
    }

    public void Start()
    {
        ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref status, null);
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(CliPath());
        arguments.ForEach(info.ArgumentList.Add);
        var started = new System.Diagnostics.Process { StartInfo = info };
        started.OutputDataReceived += (_, e) => OnLine(e.Data, isOutput: true);
        started.ErrorDataReceived += (_, e) => OnLine(e.Data, isOutput: false);
        started.Start();
        started.BeginOutputReadLine();
        started.BeginErrorReadLine();
        process = started;
    }

    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        try
        {
            await ready.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"replica {Index} did not start within {timeout.TotalSeconds} s:{Environment.NewLine}{Log()}");
        }
    }

    /// <summary>SIGKILL: the process dies at once, mid-write.</summary>
    public void Kill()
    {
        process!.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
    }

    /// <summary>SIGSTOP: the process freezes with its sockets open.</summary>
    public void Suspend() => Signal("STOP");

    /// <summary>SIGCONT.</summary>
    public void Resume() => Signal("CONT");

    public string Log() => string.Join(Environment.NewLine, log.TakeLast(60));

    /// <summary>Whether a line it printed (of the last 500, status lines aside) contains every one of <paramref name="fragments"/>.</summary>
    public bool Logged(params string[] fragments) => log.Any(line => fragments.All(f => line.Contains(f, StringComparison.Ordinal)));

    /// <summary>Closes standard input: the replica stops cleanly.</summary>
    public async Task StopAsync()
    {
        if (process is null || process.HasExited)
        {
            return;
        }

        process.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (process is not null)
        {
            if (!process.HasExited)
            {
                Resume();
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }

    private void Signal(string signal)
    {
        using var kill = System.Diagnostics.Process.Start(new ProcessStartInfo("kill", ["-" + signal, Pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit(5_000);
    }

    private void OnLine(string? line, bool isOutput)
    {
        if (line is null)
        {
            return;
        }

        if (isOutput && line.StartsWith("status ", StringComparison.Ordinal))
        {
            var fields = line["status ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(pair => pair.Split('=', 2))
                .Where(pair => pair.Length == 2)
                .ToDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
            Volatile.Write(ref status, fields);
            return;
        }

        if (isOutput && line.StartsWith("ready ", StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }

        log.Enqueue(line);
        while (log.Count > 500)
        {
            log.TryDequeue(out _);
        }
    }
}
