using Viewstamped.Messages;

namespace Viewstamped.Simulation;

/// <summary>A completed request as its client saw it: invoked and answered at these ticks (a value: one is recorded per request).</summary>
public readonly record struct CompletedRequest(ulong RequestNumber, byte[] Operation, byte[] Result, OpNumber Op, ulong InvokedAt, ulong CompletedAt)
{
    /// <summary>The reply's status: <see cref="ReplyStatus.Ok"/>, or <see cref="ReplyStatus.ServiceError"/> when the service threw.</summary>
    public ReplyStatus Status { get; init; }
}

/// <summary>A client session in the simulated cluster, with the record of what it saw.</summary>
public sealed class SimulatedClient(ClientSession session)
{
    private byte[] operation = [];
    private ulong invokedAt;

    /// <summary>The protocol session.</summary>
    public ClientSession Session { get; } = session;

    /// <summary>Requests that completed, in order.</summary>
    public List<CompletedRequest> Completed { get; } = [];

    /// <summary>True when registered and no request is in flight.</summary>
    public bool IsIdle => Session.State == ClientSessionState.Idle;

    /// <summary>The operation in flight, if any.</summary>
    public byte[]? Pending => Session.State == ClientSessionState.Busy ? operation : null;

    /// <summary>The tick the in-flight operation was invoked at.</summary>
    public ulong PendingSince => invokedAt;

    /// <summary>False once the client process crashed: it neither ticks nor receives replies again.</summary>
    public bool IsUp { get; internal set; } = true;

    /// <summary>The tick the session was created at.</summary>
    public ulong CreatedAt { get; internal init; }

    internal ulong Submit(byte[] op, ulong now)
    {
        operation = op;
        invokedAt = now;
        return Session.Submit(op);
    }

    internal void OnReply(Reply reply, ulong now)
    {
        if (Session.Step(reply) is { Kind: ClientEventKind.Completed } completed)
        {
            Completed.Add(new CompletedRequest(completed.RequestNumber, operation, completed.Result, completed.Op, invokedAt, now)
            {
                Status = completed.Status,
            });
        }
    }
}
