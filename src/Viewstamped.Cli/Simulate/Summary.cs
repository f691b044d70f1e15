using System.Globalization;
using System.Text;
using System.Text.Json;
using Viewstamped.Cli.Commands;
using Viewstamped.Simulation;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Cli.Simulate;

/// <summary>The totals of a run or a sweep, as text and as the JSON line of <c>--json</c>.</summary>
internal sealed record Summary
{
    public required int Seeds { get; init; }

    public required ulong FirstSeed { get; init; }

    public required IReadOnlyList<SimulationResult> Failed { get; init; }

    public long OpsCommitted { get; init; }

    public long RequestsCompleted { get; init; }

    public bool Linearizable { get; init; }

    public int LinearizabilityUnknown { get; init; }

    public long ViewChanges { get; init; }

    public long Crashes { get; init; }

    public long ClientCrashes { get; init; }

    public long Ticks { get; init; }

    public long LatentCorruptions { get; init; }

    public long EntriesRepaired { get; init; }

    public long RottenTailsCut { get; init; }

    public long LostNewestBatches { get; init; }

    public double ElapsedSeconds { get; init; }

    /// <summary>Gets the CPU seconds the process used meanwhile, on all its threads (a sweep runs seeds in parallel).</summary>
    public double CpuSeconds { get; init; }

    public double OpsPerSecond => OpsCommitted / Math.Max(ElapsedSeconds, 1e-9);

    public double OpsPerCpuSecond => OpsCommitted / Math.Max(CpuSeconds, 1e-9);

    public double SeedsPerMinute => Seeds * 60 / Math.Max(ElapsedSeconds, 1e-9);

    /// <summary>The exit code: a correctness failure first, then an unexpected exception, then a liveness failure.</summary>
    public int ExitCode =>
        Failed.Any(r => r.Failure == FailureKind.Correctness) ? ExitCodes.Correctness
        : Failed.Any(r => r.Failure == FailureKind.Crash) ? ExitCodes.UnexpectedException
        : Failed.Any(r => r.Failure == FailureKind.Liveness) ? ExitCodes.Liveness
        : ExitCodes.Ok;

    public static Summary Of(IReadOnlyList<SimulationResult> results, double elapsedSeconds, double cpuSeconds, ulong firstSeed) => new()
    {
        Seeds = results.Count,
        FirstSeed = firstSeed,
        Failed = results.Where(r => !r.Passed).OrderBy(r => r.Seed).ToList(),
        OpsCommitted = results.Sum(r => r.OpsCommitted),
        RequestsCompleted = results.Sum(r => (long)r.RequestsCompleted),
        Linearizable = results.All(r => r.Linearizability == Verdict.Linearizable),
        LinearizabilityUnknown = results.Count(r => r.Passed && r.Linearizability == Verdict.Unknown),
        ViewChanges = results.Sum(r => (long)r.ViewChanges),
        Crashes = results.Sum(r => (long)r.Crashes),
        ClientCrashes = results.Sum(r => (long)r.ClientCrashes),
        LatentCorruptions = results.Sum(r => r.LatentCorruptions),
        EntriesRepaired = results.Sum(r => r.EntriesRepaired),
        RottenTailsCut = results.Sum(r => r.RottenTailsCut),
        LostNewestBatches = results.Sum(r => r.LostNewestBatches),
        Ticks = results.Sum(r => (long)r.Ticks),
        ElapsedSeconds = elapsedSeconds,
        CpuSeconds = cpuSeconds,
    };

    public string ToText()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Seeds} seeds from {FirstSeed}: {Seeds - Failed.Count} passed, {Failed.Count} failed");
        if (Failed.Count > 0)
        {
            text.Append(" (seeds ").AppendJoin(' ', Failed.Take(20).Select(r => r.Seed)).Append(Failed.Count > 20 ? " ...)" : ")");
        }

        text.Append(CultureInfo.InvariantCulture,
            $"; {OpsCommitted} ops committed, {RequestsCompleted} requests completed, {ViewChanges} view changes, {Crashes} crashes, {ClientCrashes} client crashes");
        if (LatentCorruptions > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {LatentCorruptions} latent corruptions, {EntriesRepaired} entries repaired one by one, {RottenTailsCut} rotten tails cut as torn, {LostNewestBatches} newest batches lost whole");
        }

        if (LinearizabilityUnknown > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", linearizability unknown for {LinearizabilityUnknown}");
        }

        text.Append(CultureInfo.InvariantCulture, $"; {ElapsedSeconds:0.0} s ({CpuSeconds:0.0} s CPU), {OpsPerSecond:0} ops/s, {SeedsPerMinute:0} seeds/min");
        return text.ToString();
    }

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("seeds", Seeds);
            json.WriteNumber("first_seed", FirstSeed);
            json.WriteNumber("failed", Failed.Count);
            json.WriteStartArray("failed_seeds");
            foreach (var result in Failed)
            {
                json.WriteNumberValue(result.Seed);
            }

            json.WriteEndArray();
            json.WriteStartArray("failures");
            foreach (var result in Failed)
            {
                json.WriteStartObject();
                json.WriteNumber("seed", result.Seed);
                json.WriteString("kind", SimulateRunner.Kind(result.Failure));
                json.WriteString("message", result.Message);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("ops_committed", OpsCommitted);
            json.WriteNumber("requests_completed", RequestsCompleted);
            json.WriteBoolean("linearizable", Linearizable);
            json.WriteNumber("linearizability_unknown", LinearizabilityUnknown);
            json.WriteNumber("view_changes", ViewChanges);
            json.WriteNumber("crashes", Crashes);
            json.WriteNumber("client_crashes", ClientCrashes);
            json.WriteNumber("latent_corruptions", LatentCorruptions);
            json.WriteNumber("entries_repaired", EntriesRepaired);
            json.WriteNumber("rotten_tails_cut", RottenTailsCut);
            json.WriteNumber("lost_newest_batches", LostNewestBatches);
            json.WriteNumber("ticks", Ticks);
            json.WriteNumber("elapsed_s", Math.Round(ElapsedSeconds, 3));
            json.WriteNumber("ops_per_s", Math.Round(OpsPerSecond, 1));
            json.WriteNumber("seeds_per_min", Math.Round(SeedsPerMinute, 1));
            json.WriteNumber("cpu_s", Math.Round(CpuSeconds, 3));
            json.WriteNumber("ops_per_cpu_s", Math.Round(OpsPerCpuSecond, 1));
            json.WriteNumber("exit_code", ExitCode);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
