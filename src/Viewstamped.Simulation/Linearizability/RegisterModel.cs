namespace Viewstamped.Simulation.Linearizability;

/// <summary>
/// A single register holding a string or nil (initially nil) with read, write and cas; keys are ignored.
/// </summary>
/// <remarks>
/// A completed cas is a successful swap, so it requires the register to hold <see cref="OperationInput.Expected"/>;
/// a cas whose outcome is unknown swaps if the register holds the expected value and is a no-op otherwise.
/// Append is not part of this model and is always rejected.
/// </remarks>
public sealed class RegisterModel : IModel<string?>
{
    /// <summary>Gets a shared instance of the model.</summary>
    public static RegisterModel Instance { get; } = new();

    /// <inheritdoc />
    public string? Init() => null;

    /// <inheritdoc />
    public (bool Ok, string? Next) Step(string? state, Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var input = operation.Input;
        switch (input.Kind)
        {
            case OperationKind.Read:
                return (!operation.HasReturned || string.Equals(state, operation.Output, StringComparison.Ordinal), state);
            case OperationKind.Write:
                return (true, input.Value);
            case OperationKind.Cas:
                if (string.Equals(state, input.Expected, StringComparison.Ordinal))
                {
                    return (true, input.Value);
                }

                return (!operation.HasReturned, state);
            default:
                return (false, state);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<IReadOnlyList<Operation>> Partition(IReadOnlyList<Operation> history) => [history];

    /// <inheritdoc />
    public bool StateEquals(string? left, string? right) => string.Equals(left, right, StringComparison.Ordinal);

    /// <inheritdoc />
    public int StateHashCode(string? state) => state is null ? 0 : StringComparer.Ordinal.GetHashCode(state);
}
