namespace Viewstamped.Simulation.Linearizability;

/// <summary>
/// A map from string keys to string values with get, put, append and cas, checked one key at a time.
/// </summary>
/// <remarks>
/// Every key starts empty, and nil and the empty string are the same value: a get of a key never written may
/// return either, append to it yields the appended string, and a cas expecting nil or "" succeeds on it.
/// A completed cas is a successful swap (a cas that found another value is recorded as <c>:fail</c> and dropped);
/// a cas whose outcome is unknown swaps if the key holds the expected value and is a no-op otherwise.
/// </remarks>
public sealed class KeyValueModel : IModel<string>
{
    /// <summary>Gets a shared instance of the model.</summary>
    public static KeyValueModel Instance { get; } = new();

    /// <inheritdoc />
    public string Init() => string.Empty;

    /// <inheritdoc />
    public (bool Ok, string Next) Step(string state, Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var input = operation.Input;
        switch (input.Kind)
        {
            case OperationKind.Read:
                return (!operation.HasReturned || string.Equals(state, operation.Output ?? string.Empty, StringComparison.Ordinal), state);
            case OperationKind.Write:
                return (true, input.Value ?? string.Empty);
            case OperationKind.Append:
                return (true, state + input.Value);
            case OperationKind.Cas:
                if (string.Equals(state, input.Expected ?? string.Empty, StringComparison.Ordinal))
                {
                    return (true, input.Value ?? string.Empty);
                }

                return (!operation.HasReturned, state);
            default:
                return (false, state);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<IReadOnlyList<Operation>> Partition(IReadOnlyList<Operation> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        var byKey = new Dictionary<string, List<Operation>>(StringComparer.Ordinal);
        var parts = new List<IReadOnlyList<Operation>>();
        foreach (var operation in history)
        {
            if (!byKey.TryGetValue(operation.Input.Key, out var part))
            {
                part = [];
                byKey.Add(operation.Input.Key, part);
                parts.Add(part);
            }

            part.Add(operation);
        }

        return parts;
    }

    /// <inheritdoc />
    public bool StateEquals(string left, string right) => string.Equals(left, right, StringComparison.Ordinal);

    /// <inheritdoc />
    public int StateHashCode(string state) => StringComparer.Ordinal.GetHashCode(state);
}
