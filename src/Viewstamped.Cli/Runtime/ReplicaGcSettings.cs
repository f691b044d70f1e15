using System.Diagnostics;

namespace Viewstamped.Cli.Runtime;

/// <summary>
/// The garbage collector's allocation budget of a replica process, given to the replicas that
/// <c>vsr cluster</c> and <c>vsr demo</c> start. Left alone, the collector grows the budget of its
/// youngest generation when much of it survives, as a replica's log entries do until a checkpoint
/// compacts them, and keeps that much memory committed beside the heap: up to 170 MB per replica under
/// a sustained SET load on a million keys (130 MB with this cap, about 100 MB with 8 MiB). Capping it
/// trades more, smaller collections (about 7% more replica CPU per SET; 8 MiB costs a fifth) for that
/// memory.
/// </summary>
/// <remarks>
/// It is an environment variable for the replica processes rather than a setting in
/// <c>vsr.runtimeconfig.json</c> (where <c>System.GC.Gen0MaxBudget</c> would say the same), because the
/// same program runs <c>vsr simulate</c>, whose hot loop takes a fifth more CPU with the cap. Run
/// <c>vsr replica</c> yourself with the same variable (docs/operations.md); a value already in the
/// environment is kept.
/// </remarks>
public static class ReplicaGcSettings
{
    /// <summary>The runtime's variable: the most bytes allocated between two gen0 collections, in hex.</summary>
    public const string Gen0MaxBudgetVariable = "DOTNET_GCGen0MaxBudget";

    /// <summary>16 MiB.</summary>
    public const string Gen0MaxBudget = "0x1000000";

    /// <summary>Gives <paramref name="info"/>'s process the budget, unless its environment names one already.</summary>
    public static void Apply(ProcessStartInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.Environment.TryAdd(Gen0MaxBudgetVariable, Gen0MaxBudget);
    }
}
