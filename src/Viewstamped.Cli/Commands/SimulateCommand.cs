using System.CommandLine;
using System.Globalization;
using Viewstamped.Cli.Simulate;
using Viewstamped.Simulation;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr simulate</c>: deterministic simulation of a cluster under faults, one seed or a sweep.</summary>
public static class SimulateCommand
{
    /// <summary>Builds the <c>simulate</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var defaults = new SimulationOptions();
        var replicas = new Option<int?>("--replicas") { Description = $"Number of replicas (default {defaults.Replicas})." };
        var failures = new Option<int?>("--failures", "-f") { Description = "Failures to tolerate: runs 2F+1 replicas (instead of --replicas)." };
        var clients = new Option<int>("--clients") { Description = "Concurrent clients.", DefaultValueFactory = _ => defaults.Clients };
        var requests = new Option<int>("--requests") { Description = "Operations per client.", DefaultValueFactory = _ => defaults.RequestsPerClient };
        var keys = new Option<int?>("--keys") { Description = "Keys the key-value workload uses (default: 4, or one per four clients)." };
        var drop = new Option<double?>("--drop") { Description = "Message loss probability, 0 to <1 (overrides the fault profile's)." };
        var lostWrites = new Option<bool?>("--lost-writes")
        {
            Description = "Simulated disks may lose their newest synced batch whole at a power loss (a lost write), and report an uncertain tail after every power loss since their last write without a clean close, as the file storage does after a reboot. On with disk faults unless '--lost-writes false'.",
        };
        var heartbeat = new Option<int>("--heartbeat-ticks") { Description = "Ticks between the primary's heartbeats.", DefaultValueFactory = _ => defaults.HeartbeatTicks };
        var viewChange = new Option<int>("--view-change-timeout-ticks")
        {
            Description = "Ticks without the primary before a backup proposes a view change.",
            DefaultValueFactory = _ => defaults.ViewChangeTimeoutTicks,
        };
        var checkpoint = new Option<ulong?>("--checkpoint-interval") { Description = "Ops between checkpoints, 0 for none (default: drawn from each seed)." };
        var suffix = new Option<ulong?>("--log-suffix") { Description = "Log entries kept before a checkpoint (default: drawn from each seed)." };
        var checkpointBytes = new Option<long?>("--checkpoint-bytes")
        {
            Description = "Also take a checkpoint once this many bytes of log were executed since the last one, 0 for by op count only (default: drawn from each seed).",
        };
        var viewChangeBytes = new Option<long?>("--view-change-committed-bytes")
        {
            Description = "Bytes of committed entries a view change's log carries besides the uncommitted ones (default: drawn from each seed).",
        };
        var seed = new Option<ulong?>("--seed") { Description = "The seed (the first of a sweep). Default: a random seed, printed." };
        var seeds = new Option<int>("--seeds") { Description = "Run a sweep of this many consecutive seeds.", DefaultValueFactory = _ => 1 };
        var jobs = new Option<int>("--jobs")
        {
            Description = "Seeds of a sweep run in parallel (each run stays single-threaded and deterministic).",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var faults = new Option<string>("--faults")
        {
            Description = "Fault profile: none, network, crash, disk (simulated disks with power losses), all, or swarm (each seed draws its own mix). Explicit options such as --drop apply on top.",
            DefaultValueFactory = _ => "swarm",
        };
        faults.AcceptOnlyFromAmong("none", "network", "crash", "disk", "all", "swarm");
        var history = new Option<string?>("--history") { Description = "Write the key-value client history to this file as EDN (single seed)." };
        var trace = new Option<bool>("--trace") { Description = "Print one line per replica state transition and per fault (single seed)." };
        var mutate = new Option<string?>("--mutate") { Description = "Plant a bug (see --list-mutations); the checkers must catch it." };
        var listMutations = new Option<bool>("--list-mutations") { Description = "List the mutations, one per line, and exit." };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary as the last line of standard output." };

        var command = new Command("simulate", "Run the deterministic simulator: a cluster under faults, a key-value workload, and every checker.")
        {
            replicas, failures, clients, requests, keys, drop, lostWrites, heartbeat, viewChange, checkpoint, suffix, checkpointBytes, viewChangeBytes, seed, seeds,
            jobs, faults, history, trace, mutate, listMutations, json,
        };

        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (parse.GetValue(listMutations))
            {
                foreach (var info in Mutations.All)
                {
                    output.WriteLine($"{info.Name}\t{info.Description}");
                }

                return ExitCodes.Ok;
            }

            var settings = Settings(parse, error, replicas, failures, clients, requests, keys, drop, lostWrites, heartbeat, viewChange, checkpoint, suffix,
                checkpointBytes, viewChangeBytes, seed, seeds, jobs, faults, history, trace, mutate, json);
            return settings is null ? ExitCodes.BadArguments : SimulateRunner.Run(settings, output, error);
        });
        return command;
    }

    private static SimulateSettings? Settings(
        ParseResult parse,
        TextWriter error,
        Option<int?> replicas,
        Option<int?> failures,
        Option<int> clients,
        Option<int> requests,
        Option<int?> keys,
        Option<double?> drop,
        Option<bool?> lostWrites,
        Option<int> heartbeat,
        Option<int> viewChange,
        Option<ulong?> checkpoint,
        Option<ulong?> suffix,
        Option<long?> checkpointBytes,
        Option<long?> viewChangeBytes,
        Option<ulong?> seed,
        Option<int> seeds,
        Option<int> jobs,
        Option<string> faults,
        Option<string?> history,
        Option<bool> trace,
        Option<string?> mutate,
        Option<bool> json)
    {
        bool Bad(string message)
        {
            error.WriteLine($"vsr simulate: {message}");
            return false;
        }

        var replicaCount = parse.GetValue(replicas);
        var f = parse.GetValue(failures);
        if (replicaCount is not null && f is not null)
        {
            Bad("give --replicas or -f, not both");
            return null;
        }

        if (f is < 0 or > 7)
        {
            Bad($"-f must be 0 to 7, not {f}");
            return null;
        }

        var mutation = PlantedMutation.None;
        if (parse.GetValue(mutate) is { } name && !Mutations.TryParse(name, out mutation))
        {
            Bad($"unknown mutation '{name}'; see vsr simulate --list-mutations");
            return null;
        }

        var seedCount = parse.GetValue(seeds);
        var jobCount = parse.GetValue(jobs);
        var historyFile = parse.GetValue(history);
        var tracing = parse.GetValue(trace);
        if (seedCount < 1)
        {
            Bad($"--seeds must be at least 1, not {seedCount}");
            return null;
        }

        if (jobCount < 1)
        {
            Bad($"--jobs must be at least 1, not {jobCount}");
            return null;
        }

        if (seedCount > 1 && (historyFile is not null || tracing))
        {
            Bad("--history and --trace need a single seed; replay the seed you want with --seed S");
            return null;
        }

        var profile = Enum.Parse<FaultProfile>(parse.GetValue(faults) ?? "swarm", ignoreCase: true);
        if (parse.GetValue(lostWrites) == true && profile is FaultProfile.None or FaultProfile.Network or FaultProfile.Crash)
        {
            Bad("--lost-writes needs simulated disks: use --faults disk, all or swarm");
            return null;
        }

        var givenSeed = parse.GetValue(seed);
        var firstSeed = givenSeed ?? (ulong)Random.Shared.NextInt64(1, int.MaxValue);
        var options = new SimulationOptions
        {
            Seed = firstSeed,
            Replicas = replicaCount ?? (f is { } failuresTolerated ? (2 * failuresTolerated) + 1 : 3),
            Clients = parse.GetValue(clients),
            RequestsPerClient = parse.GetValue(requests),
            Keys = parse.GetValue(keys),
            Drop = parse.GetValue(drop),
            LostWrites = parse.GetValue(lostWrites),
            HeartbeatTicks = parse.GetValue(heartbeat),
            ViewChangeTimeoutTicks = parse.GetValue(viewChange),
            CheckpointInterval = parse.GetValue(checkpoint),
            LogSuffix = parse.GetValue(suffix),
            CheckpointBytesInterval = parse.GetValue(checkpointBytes),
            ViewChangeCommittedBytesMax = parse.GetValue(viewChangeBytes),
            Faults = profile,
            Mutation = mutation,
        };

        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            Bad(e.Message);
            return null;
        }

        if (historyFile is not null && !CanWrite(historyFile, out var why))
        {
            Bad($"cannot write the history to {historyFile}: {why}");
            return null;
        }

        return new SimulateSettings
        {
            Options = options,
            FirstSeed = firstSeed,
            SeedDrawn = givenSeed is null,
            Seeds = seedCount,
            Jobs = Math.Min(jobCount, seedCount),
            HistoryFile = historyFile,
            Trace = tracing,
            Json = parse.GetValue(json),
            FaultsGiven = parse.GetResult(faults) is { Implicit: false },
        };
    }

    private static bool CanWrite(string path, out string why)
    {
        why = string.Empty;
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            why = string.Create(CultureInfo.InvariantCulture, $"directory {directory} does not exist");
            return false;
        }

        return true;
    }
}
