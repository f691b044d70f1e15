namespace Viewstamped.Simulation.Linearizability;

/// <summary>A sequential specification of an object: the checker searches for an order of operations this model accepts.</summary>
/// <typeparam name="TState">The model's state; treated as immutable by the checker.</typeparam>
public interface IModel<TState>
{
    /// <summary>Returns the state of the object before any operation.</summary>
    /// <returns>The initial state.</returns>
    TState Init();

    /// <summary>Applies <paramref name="operation"/> to <paramref name="state"/> and says whether its recorded output is possible.</summary>
    /// <remarks>
    /// When <see cref="Operation.HasReturned"/> is false the output is unknown and the model should accept any outcome;
    /// the checker may also leave such an operation out, as if it never took effect.
    /// </remarks>
    /// <param name="state">The state before the operation.</param>
    /// <param name="operation">The operation, with its input and recorded output.</param>
    /// <returns>Whether the output is consistent with <paramref name="state"/>, and the state after the operation.</returns>
    (bool Ok, TState Next) Step(TState state, Operation operation);

    /// <summary>Splits a history into independent sub-histories that can be checked separately (for example one per key).</summary>
    /// <param name="history">All operations of the history.</param>
    /// <returns>The sub-histories; a history that cannot be split is returned as a single part.</returns>
    IReadOnlyList<IReadOnlyList<Operation>> Partition(IReadOnlyList<Operation> history);

    /// <summary>Returns whether two states are equal, for memoizing states the search has already visited.</summary>
    /// <param name="left">The first state.</param>
    /// <param name="right">The second state.</param>
    /// <returns><see langword="true"/> if the states are equal.</returns>
    bool StateEquals(TState left, TState right);

    /// <summary>Returns a hash of <paramref name="state"/> consistent with <see cref="StateEquals"/>.</summary>
    /// <param name="state">The state to hash.</param>
    /// <returns>The hash code.</returns>
    int StateHashCode(TState state);
}
