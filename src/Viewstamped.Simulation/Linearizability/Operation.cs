namespace Viewstamped.Simulation.Linearizability;

/// <summary>What a client asked for: the function, the key and the arguments of an operation.</summary>
/// <param name="Kind">The function the operation applies.</param>
/// <param name="Key">The key the operation applies to; the empty string for a single register.</param>
/// <param name="Value">The new value of a write or cas, or the suffix of an append; <see langword="null"/> is nil.</param>
/// <param name="Expected">For a cas, the value the register must hold for the swap to happen; <see langword="null"/> is nil.</param>
public sealed record OperationInput(OperationKind Kind, string Key, string? Value, string? Expected = null);

/// <summary>A client operation with the interval during which it was outstanding, as given to the checker.</summary>
/// <param name="Process">The client process that issued the operation.</param>
/// <param name="Call">The logical time the operation was invoked.</param>
/// <param name="Return">The logical time it returned, or <see cref="NeverReturned"/> when its outcome is unknown.</param>
/// <param name="Input">The function, key and arguments of the operation.</param>
/// <param name="Output">The value a completed read returned (<see langword="null"/> is nil); ignored for other kinds and for operations that never returned.</param>
public sealed record Operation(int Process, long Call, long Return, OperationInput Input, string? Output)
{
    /// <summary>The return time of an operation whose outcome is unknown: it may take effect at any point after its call.</summary>
    public const long NeverReturned = long.MaxValue;

    /// <summary>Gets a value indicating whether the operation returned with a known outcome.</summary>
    public bool HasReturned => Return != NeverReturned;

    /// <summary>Gets the 1-based line of the file the invocation was read from, or 0 when it was not read from a file.</summary>
    public int Line { get; init; }
}
