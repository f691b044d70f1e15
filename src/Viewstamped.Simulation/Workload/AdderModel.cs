using System.Globalization;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Workload;

/// <summary>
/// The sequential specification of the <see cref="Samples.Adder"/>: one running total, where each
/// operation adds its input (<see cref="OperationInput.Value"/>, a decimal integer) and returns the new
/// total (<see cref="Operation.Output"/>). Operations use <see cref="OperationKind.Append"/> as their kind.
/// </summary>
public sealed class AdderModel : IModel<int>
{
    /// <summary>A shared instance of the model.</summary>
    public static AdderModel Instance { get; } = new();

    /// <inheritdoc />
    public int Init() => 0;

    /// <inheritdoc />
    public (bool Ok, int Next) Step(int state, Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var next = unchecked(state + int.Parse(operation.Input.Value ?? "0", CultureInfo.InvariantCulture));
        var ok = !operation.HasReturned
            || (operation.Output is { } output && int.Parse(output, CultureInfo.InvariantCulture) == next);
        return (ok, next);
    }

    /// <inheritdoc />
    public IReadOnlyList<IReadOnlyList<Operation>> Partition(IReadOnlyList<Operation> history) => [history];

    /// <inheritdoc />
    public bool StateEquals(int left, int right) => left == right;

    /// <inheritdoc />
    public int StateHashCode(int state) => state;
}
