namespace Viewstamped.Simulation.Linearizability;

/// <summary>The kind of a Jepsen history event.</summary>
public enum HistoryEventType
{
    /// <summary>A client started an operation (<c>:invoke</c>).</summary>
    Invoke,

    /// <summary>The operation completed and its result is known (<c>:ok</c>).</summary>
    Ok,

    /// <summary>The operation definitely did not take effect (<c>:fail</c>).</summary>
    Fail,

    /// <summary>The outcome is unknown: the operation may or may not have taken effect (<c>:info</c>).</summary>
    Info,
}

/// <summary>The function a client operation applies to a register or key.</summary>
public enum OperationKind
{
    /// <summary>Reads the current value (<c>:read</c> in etcd logs, <c>:get</c> in key-value histories).</summary>
    Read,

    /// <summary>Overwrites the value (<c>:write</c> in etcd logs, <c>:put</c> in key-value histories).</summary>
    Write,

    /// <summary>Appends a string to the current value (<c>:append</c>, key-value model only).</summary>
    Append,

    /// <summary>Sets the value to <see cref="HistoryEvent.Value"/> only if it currently equals <see cref="HistoryEvent.Expected"/> (<c>:cas</c>).</summary>
    Cas,
}

/// <summary>One line of a Jepsen-style client history: an invocation or a completion of an operation.</summary>
/// <param name="Process">The client process that issued the operation; a process has at most one operation pending at a time.</param>
/// <param name="Type">Whether this event invokes the operation or reports its outcome.</param>
/// <param name="Kind">The function the operation applies.</param>
/// <param name="Key">The key the operation applies to; the empty string for a single register.</param>
/// <param name="Value">The argument of a write, append or cas (the new value), or the value a completed read returned; <see langword="null"/> is nil.</param>
/// <param name="Expected">For a cas, the value the register must hold for the swap to happen; <see langword="null"/> is nil.</param>
public sealed record HistoryEvent(
    int Process,
    HistoryEventType Type,
    OperationKind Kind,
    string Key,
    string? Value,
    string? Expected = null)
{
    /// <summary>Gets the 1-based line of the file this event was read from, or 0 when it was not read from a file.</summary>
    public int Line { get; init; }
}
