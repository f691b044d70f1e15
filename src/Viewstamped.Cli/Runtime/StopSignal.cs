using System.Runtime.InteropServices;

namespace Viewstamped.Cli.Runtime;

/// <summary>
/// What stops a long-running command: Ctrl-C, SIGTERM, cancellation, and optionally the end of
/// standard input (so a parent process or a test can stop it by closing the pipe).
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly TaskCompletionSource stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<IDisposable> registrations = [];

    public StopSignal(bool stopOnEndOfInput, params CancellationToken[] tokens)
    {
        foreach (var token in tokens)
        {
            registrations.Add(token.Register(Stop));
        }

        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal));
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal));
        if (stopOnEndOfInput)
        {
            _ = Task.Run(StopAtEndOfInputAsync, CancellationToken.None);
        }
    }

    /// <summary>Completes when the command should stop.</summary>
    public Task Stopped => stopped.Task;

    /// <summary>Waits for the stop, calling <paramref name="onInterval"/> every <paramref name="intervalMilliseconds"/> (0: never).</summary>
    public async Task WaitAsync(int intervalMilliseconds = 0, Func<Task>? onInterval = null)
    {
        if (intervalMilliseconds > 0 && onInterval is not null)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(intervalMilliseconds));
            while (!Stopped.IsCompleted && await Task.WhenAny(Stopped, timer.WaitForNextTickAsync(CancellationToken.None).AsTask()).ConfigureAwait(false) != Stopped)
            {
                await onInterval().ConfigureAwait(false);
            }
        }

        await Stopped.ConfigureAwait(false);
    }

    public void Dispose()
    {
        foreach (var registration in registrations)
        {
            registration.Dispose();
        }
    }

    private void Stop() => stopped.TrySetResult();

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        Stop();
    }

    private async Task StopAtEndOfInputAsync()
    {
        using var input = Console.OpenStandardInput();
        var buffer = new byte[256];
        try
        {
            while (await input.ReadAsync(buffer).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (IOException)
        {
        }

        Stop();
    }
}
