using System.Globalization;
using System.Text;
using Viewstamped.Simulation;

namespace Viewstamped.Cli.Simulate;

/// <summary>What <c>vsr simulate</c> was asked to do, after parsing and validation.</summary>
internal sealed record SimulateSettings
{
    public required SimulationOptions Options { get; init; }

    /// <summary>The first seed of the run.</summary>
    public required ulong FirstSeed { get; init; }

    /// <summary>True when the seed was drawn at random (it is printed so the run can be replayed).</summary>
    public bool SeedDrawn { get; init; }

    public int Seeds { get; init; } = 1;

    public int Jobs { get; init; } = 1;

    public string? HistoryFile { get; init; }

    public bool Trace { get; init; }

    public bool Json { get; init; }

    /// <summary>The profile was given explicitly (the default is swarm).</summary>
    public bool FaultsGiven { get; init; }

    /// <summary>The command line that replays seed <paramref name="seed"/> alone, with the same options.</summary>
    public string ReplayCommand(ulong seed)
    {
        var o = Options;
        var defaults = new SimulationOptions();
        var command = new StringBuilder("vsr simulate");
        void Add(string name, object value) => command.Append(CultureInfo.InvariantCulture, $" {name} {value}");

        Add("--seed", seed);
        if (o.Replicas != defaults.Replicas)
        {
            Add("--replicas", o.Replicas);
        }

        if (o.Clients != defaults.Clients)
        {
            Add("--clients", o.Clients);
        }

        if (o.RequestsPerClient != defaults.RequestsPerClient)
        {
            Add("--requests", o.RequestsPerClient);
        }

        if (o.Keys is { } keys)
        {
            Add("--keys", keys);
        }

        if (o.Faults != FaultProfile.Swarm)
        {
            Add("--faults", o.Faults.ToString().ToLowerInvariant());
        }

        if (o.Drop is { } drop)
        {
            Add("--drop", drop.ToString("R", CultureInfo.InvariantCulture));
        }

        if (o.LostWrites == false)
        {
            command.Append(" --lost-writes false");
        }

        if (o.HeartbeatTicks != defaults.HeartbeatTicks)
        {
            Add("--heartbeat-ticks", o.HeartbeatTicks);
        }

        if (o.ViewChangeTimeoutTicks != defaults.ViewChangeTimeoutTicks)
        {
            Add("--view-change-timeout-ticks", o.ViewChangeTimeoutTicks);
        }

        if (o.CheckpointInterval is { } interval)
        {
            Add("--checkpoint-interval", interval);
        }

        if (o.LogSuffix is { } suffix)
        {
            Add("--log-suffix", suffix);
        }

        if (o.CheckpointBytesInterval is { } checkpointBytes)
        {
            Add("--checkpoint-bytes", checkpointBytes);
        }

        if (o.ViewChangeCommittedBytesMax is { } viewChangeBytes)
        {
            Add("--view-change-committed-bytes", viewChangeBytes);
        }

        if (o.Mutation != PlantedMutation.None)
        {
            Add("--mutate", Mutations.NameOf(o.Mutation));
        }

        return command.ToString();
    }
}
