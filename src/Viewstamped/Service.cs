namespace Viewstamped;

/// <summary>
/// Turns typed requests and replies into the byte-level <see cref="IService"/>: derive from it,
/// say how to read a request and write a reply, and implement <see cref="Execute(TRequest)"/>.
/// </summary>
/// <typeparam name="TRequest">The operation type clients send.</typeparam>
/// <typeparam name="TReply">The result type clients receive.</typeparam>
public abstract class Service<TRequest, TReply> : IService
{
    /// <summary>Executes one committed request and returns its reply.</summary>
    protected abstract TReply Execute(TRequest request);

    /// <summary>Decodes a request from bytes.</summary>
    protected abstract TRequest ReadRequest(ReadOnlySpan<byte> bytes);

    /// <summary>Encodes a reply to bytes.</summary>
    protected abstract byte[] WriteReply(TReply reply);

    /// <summary>The prediction of the operation being executed; empty when none was made.</summary>
    protected ReadOnlyMemory<byte> CurrentPrediction { get; private set; }

    /// <inheritdoc />
    public byte[] Execute(ReadOnlySpan<byte> operation, ReadOnlySpan<byte> prediction)
    {
        CurrentPrediction = prediction.ToArray();
        return WriteReply(Execute(ReadRequest(operation)));
    }
}
