using Viewstamped.Samples;

namespace Viewstamped.Cli.Runtime;

/// <summary>
/// The Adder sample service, publishing its total after every operation so the process can print it
/// from another thread without touching the service itself.
/// </summary>
public sealed class ObservableAdder : IService, ICheckpointingService
{
    private readonly Adder adder = new();
    private int total;

    /// <summary>The running total as of the latest executed operation.</summary>
    public int Total => Volatile.Read(ref total);

    /// <inheritdoc />
    public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction)
    {
        var reply = ((IService)adder).Execute(operation, prediction);
        Volatile.Write(ref total, adder.Total);
        return reply;
    }

    /// <inheritdoc />
    public byte[] WriteCheckpoint() => adder.WriteCheckpoint();

    /// <inheritdoc />
    public void RestoreCheckpoint(ReadOnlySpan<byte> checkpoint)
    {
        adder.RestoreCheckpoint(checkpoint);
        Volatile.Write(ref total, adder.Total);
    }
}
