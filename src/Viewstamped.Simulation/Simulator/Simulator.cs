namespace Viewstamped.Simulation;

/// <summary>Runs simulations: one seed, or a sweep of consecutive seeds.</summary>
public static class Simulator
{
    /// <summary>Runs one simulation to its end.</summary>
    public static SimulationResult Run(SimulationOptions options) => new SimulationRun(options).Run();

    /// <summary>
    /// Runs <paramref name="count"/> seeds from <paramref name="firstSeed"/> on, one after the other,
    /// with every other option from <paramref name="options"/>; <paramref name="onResult"/> sees each
    /// result as it comes. Seed <c>firstSeed + i</c> replays alone with the same options.
    /// </summary>
    public static IReadOnlyList<SimulationResult> Sweep(SimulationOptions options, ulong firstSeed, int count, Action<SimulationResult>? onResult = null)
    {
        var results = new List<SimulationResult>(count);
        for (var i = 0; i < count; i++)
        {
            var result = Run(options with { Seed = firstSeed + (ulong)i, Trace = null });
            results.Add(result);
            onResult?.Invoke(result);
        }

        return results;
    }
}
