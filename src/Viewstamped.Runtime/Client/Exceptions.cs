namespace Viewstamped.Runtime.Client;

/// <summary>Why an invocation's outcome is unknown.</summary>
public enum OutcomeUnknownReason
{
    /// <summary>No reply came within the request timeout.</summary>
    TimedOut = 1,

    /// <summary>The caller cancelled after the request was sent.</summary>
    Canceled = 2,

    /// <summary>The cluster ended the session (evicted it) while the request was in flight.</summary>
    SessionEnded = 3,

    /// <summary>The client was disposed while the request was in flight.</summary>
    ClientDisposed = 4,
}

/// <summary>
/// The request was sent but no reply tells whether it executed: it may have executed once, or not
/// at all (never twice). This is not a failure; the caller must find out (read the state) or accept
/// either outcome. Retrying it blindly with a new request may apply it twice.
/// </summary>
public sealed class OutcomeUnknownException : Exception
{
    /// <summary>Creates the exception.</summary>
    public OutcomeUnknownException(OutcomeUnknownReason reason, ClientId session, ulong requestNumber)
        : base($"The outcome of request {requestNumber} of session {session} is unknown ({reason}): it executed once or not at all")
    {
        Reason = reason;
        Session = session;
        RequestNumber = requestNumber;
    }

    /// <summary>Creates the exception with a message.</summary>
    public OutcomeUnknownException()
        : base("The outcome of the request is unknown")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public OutcomeUnknownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public OutcomeUnknownException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Why the outcome is unknown.</summary>
    public OutcomeUnknownReason Reason { get; }

    /// <summary>The session that sent the request.</summary>
    public ClientId Session { get; }

    /// <summary>The request's number in its session.</summary>
    public ulong RequestNumber { get; }
}

/// <summary>
/// The operation executed and the service threw on every replica alike (a deterministic failure of
/// the operation itself): the outcome is known, the state reflects whatever the service did.
/// </summary>
public sealed class ServiceFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ServiceFailedException(OpNumber op)
        : base($"The service threw while executing op {op}")
    {
        Op = op;
    }

    /// <summary>Creates the exception.</summary>
    public ServiceFailedException()
        : base("The service threw while executing the operation")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public ServiceFailedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public ServiceFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The op the failed operation executed as.</summary>
    public OpNumber Op { get; }
}
