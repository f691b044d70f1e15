using System.Globalization;
using Viewstamped.Simulation.Linearizability;
using Viewstamped.Simulation.Workload;

namespace Viewstamped.Simulation;

/// <summary>Where a run stands.</summary>
public enum SimulationPhase
{
    /// <summary>The workload runs while faults are injected.</summary>
    Faults,

    /// <summary>Every fault healed: the workload must finish, every request in bounded time.</summary>
    Healed,

    /// <summary>The workload finished: the replicas must converge (all normal, same view, everything committed and executed).</summary>
    Converging,

    /// <summary>The run is over; <see cref="SimulationRun.Result"/> holds what it found.</summary>
    Finished,
}

/// <summary>
/// One deterministic simulated run (in the spirit of TigerBeetle's VOPR): a cluster of real replicas
/// on a simulated network, a key-value workload, faults drawn from the seed, the cluster checker after
/// every step, a liveness phase once the faults heal, and a linearizability check of the client history
/// at the end. Single-threaded; every random choice comes from the seed, so a seed replays exactly.
/// Drive it with <see cref="Run"/>, or tick by tick with <see cref="Step"/>.
/// </summary>
public sealed class SimulationRun
{
    private readonly SimulationOptions options;
    private readonly Prng faults;

    /// <summary>Which replica crashes are of the process alone: a stream of its own, so the other draws of a seed stay as they were.</summary>
    private readonly Prng processCrashes;
    private readonly TextWriter? trace;
    private readonly int f;
    private readonly ulong[] replicaRestartAt;
    private readonly ulong[] clientRestartAt;
    private readonly ReplicaSnapshot[] snapshots;
    private readonly List<int> enteredViewChange = [];
    private readonly int livenessTicks;
    private ulong partitionUntil;
    private ulong phaseStart;
    private ulong fingerprint = 0xCBF29CE484222325UL;
    private ulong longestWait;
    private int crashes;
    private int partitions;
    private int powerLosses;
    private SimulationResult? result;

    /// <summary>Builds the cluster and the workload of a run; nothing has ticked yet.</summary>
    public SimulationRun(SimulationOptions options)
    {
        this.options = options.Validate();
        var master = new Prng(options.Seed);
        var draws = new Prng(master.NextUInt64());
        faults = new Prng(master.NextUInt64());
        processCrashes = new Prng(options.Seed ^ 0x9C0C_0000_0000_0031UL);
        var workloadPrng = new Prng(master.NextUInt64());
        var clusterSeed = master.NextUInt64();
        trace = options.Trace;
        f = (options.Replicas - 1) / 2;

        var mix = options.FaultMix ?? FaultMix.Draw(options.Faults, draws);
        mix = options.Drop is { } drop ? mix with { Drop = drop } : mix;
        CheckpointInterval = options.CheckpointInterval ?? Pick(draws, 0UL, 16UL, 64UL, 256UL);
        LogSuffix = options.LogSuffix ?? (CheckpointInterval == 0 ? 0 : draws.Below(CheckpointInterval * 2));
        var think = options.ThinkTicksMax ?? (int)draws.Below(4);
        var pathDelays = new List<(int From, int To, int Min, int Max)>();
        if (mix.PathDelaySpread > 0)
        {
            for (var from = 0; from < options.Replicas; from++)
            {
                for (var to = 0; to < options.Replicas; to++)
                {
                    if (from != to)
                    {
                        var min = mix.DelayMin + (int)draws.Below((ulong)mix.PathDelaySpread + 1);
                        var max = Math.Max(min, mix.DelayMax + (int)draws.Below((ulong)mix.PathDelaySpread + 1));
                        pathDelays.Add((from, to, min, max));
                    }
                }
            }
        }

        // Disk faults are drawn last, so that a seed without them replays as it did before they existed.
        Faults = options.FaultMix is null ? FaultMix.DrawDisk(options.Faults, mix, draws) : mix;
        if ((options.LostWrites ?? options.FaultMix is null) && Faults.Disk is { } disk)
        {
            Faults = Faults with { Disk = disk with { LostNewestBatches = true } };
        }

        // Drawn after the faults for the same reason. A simulated entry is about a hundred bytes.
        CheckpointBytesInterval = options.CheckpointBytesInterval ?? Pick(draws, 0L, 500L, 2000L, 32L << 20);
        livenessTicks = options.LivenessTicks ?? options.EffectiveLivenessTicks + (40 * (Faults.DelayMax + Faults.PathDelaySpread + Faults.SyncLatencyTicksMax));
        var coreMutation = Mutations.CoreFlag(options.Mutation);

        // Drawn from a stream of its own, so that the other choices of a seed stay as they were.
        CheckpointWriteTicksMax = options.CheckpointWriteTicksMax ?? Pick(new Prng(options.Seed ^ 0xC4EC_0000_0000_0017UL), 0, 4, 40, 400);

        // Also from a stream of its own: no committed entries, about two, about forty, or the core's
        // default (256 KiB, every entry of a run), so that every sweep has receivers fill a gap before
        // installing a view change's log.
        ViewChangeCommittedBytesMax = options.ViewChangeCommittedBytesMax
            ?? Pick(new Prng(options.Seed ^ 0x7C0B_0000_0000_0029UL), 0L, 200L, 4096L, 256L << 10);
        LogSuffixBytesMax = options.LogSuffixBytesMax ?? Pick(new Prng(options.Seed ^ 0x5FF1_0000_0000_0029UL), 4L << 20, 0L, 300L, 1500L);
        var checkpointInterval = CheckpointInterval;
        var logSuffix = LogSuffix;
        var logSuffixBytesMax = LogSuffixBytesMax;
        var viewChangeCommittedBytesMax = ViewChangeCommittedBytesMax;
        var checkpointBytesInterval = CheckpointBytesInterval;

        Cluster = new Cluster(new ClusterOptions
        {
            ReplicaCount = options.Replicas,
            Seed = clusterSeed,
            ServiceFactory = static () => new KeyValueService(),
            ConfigureReplica = replica => replica with
            {
                HeartbeatTicks = options.HeartbeatTicks,
                ViewChangeTimeoutTicks = options.ViewChangeTimeoutTicks,
                RetryTicks = options.RetryTicks,
                CheckpointInterval = checkpointInterval,
                LogSuffix = logSuffix,
                LogSuffixBytesMax = logSuffixBytesMax,
                ViewChangeCommittedBytesMax = viewChangeCommittedBytesMax,
                CheckpointBytesInterval = checkpointBytesInterval,
                Mutation = coreMutation,
            },
            Network = NetworkOptionsOf(Faults),
            ClientTimeoutTicks = options.ClientTimeoutTicks,
            AckBeforePersist = options.Mutation == PlantedMutation.AckBeforePersist,
            Disk = Faults.Disk,
            CheckpointWriteTicksMax = CheckpointWriteTicksMax,
            DiskBug = Mutations.DiskFlag(options.Mutation),
        });

        snapshots = new ReplicaSnapshot[options.Replicas];
        replicaRestartAt = new ulong[options.Replicas];
        clientRestartAt = new ulong[options.Clients];
        foreach (var (from, to, min, max) in pathDelays)
        {
            Cluster.Network.SetPathDelay(Index(from), Index(to), min, max);
        }

        TraceEvent("sim", $"seed {options.Seed} replicas {options.Replicas} clients {options.Clients} requests {options.RequestsPerClient} "
            + $"checkpoint-interval {CheckpointInterval} log-suffix {LogSuffix} log-suffix-bytes {LogSuffixBytesMax} checkpoint-bytes {CheckpointBytesInterval} view-change-committed-bytes {ViewChangeCommittedBytesMax} "
            + $"checkpoint-write-ticks {CheckpointWriteTicksMax} think {think} mutation {Mutations.NameOf(options.Mutation)} faults {Faults}");
        for (var i = 0; i < options.Replicas; i++)
        {
            Observe(Cluster.Replica(i));
        }

        Cluster.ReplicaObserved = Observe;
        Workload = new KvWorkload(Cluster, workloadPrng, new WorkloadOptions
        {
            Clients = options.Clients,
            RequestsPerClient = options.RequestsPerClient,
            Keys = options.EffectiveKeys,
            AddShare = options.AddShare,
            ThinkTicksMax = think,
        });
    }

    /// <summary>The options of the run.</summary>
    public SimulationOptions Options => options;

    /// <summary>The simulated cluster.</summary>
    public Cluster Cluster { get; }

    /// <summary>The clients and their history.</summary>
    public KvWorkload Workload { get; }

    /// <summary>The fault mix in force (drawn from the seed unless given).</summary>
    public FaultMix Faults { get; }

    /// <summary>The checkpoint interval of the replicas.</summary>
    public ulong CheckpointInterval { get; }

    /// <summary>The log suffix of the replicas.</summary>
    public ulong LogSuffix { get; }

    /// <summary>The bytes of executed entries after which the replicas take a checkpoint (0: by op count only).</summary>
    public long CheckpointBytesInterval { get; }

    /// <summary>The bytes of committed entries the replicas' view-change logs carry.</summary>
    public long ViewChangeCommittedBytesMax { get; }

    /// <summary>The most ticks a checkpoint takes to be written beside a replica's loop in this run.</summary>
    public int CheckpointWriteTicksMax { get; }

    /// <summary>The most bytes of entries kept before a checkpoint (0: entries only), given or drawn.</summary>
    public long LogSuffixBytesMax { get; }

    /// <summary>Where the run stands.</summary>
    public SimulationPhase Phase { get; private set; }

    /// <summary>The current tick.</summary>
    public ulong Now => Cluster.Now;

    /// <summary>The tick the faults healed at (0 while they have not).</summary>
    public ulong HealedAt { get; private set; }

    /// <summary>
    /// The liveness bound in force: <see cref="SimulationOptions.LivenessTicks"/>, or one computed from the
    /// timeouts (<see cref="SimulationOptions.EffectiveLivenessTicks"/>) plus 40 of the slowest paths' delays.
    /// </summary>
    public int LivenessTicks => livenessTicks;

    /// <summary>Replica crashes so far.</summary>
    public int Crashes => crashes;

    /// <summary>Whole-cluster power losses so far.</summary>
    public int PowerLosses => powerLosses;

    /// <summary>The outcome, once <see cref="Phase"/> is <see cref="SimulationPhase.Finished"/>.</summary>
    public SimulationResult? Result => result;

    /// <summary>Runs the whole simulation and returns what it found.</summary>
    public SimulationResult Run()
    {
        while (Step())
        {
        }

        return result!;
    }

    /// <summary>Runs one tick: faults, clients, the cluster, the checks. False once the run is over.</summary>
    public bool Step()
    {
        if (Phase == SimulationPhase.Finished)
        {
            return false;
        }

        try
        {
            StepPhase();
        }
        catch (SafetyViolationException e)
        {
            Fail(FailureKind.Correctness, $"tick {Now}: {e.Message}");
        }
        catch (InvariantViolationException e)
        {
            Fail(FailureKind.Correctness, $"tick {Now}: replica invariant: {e.Message} (in {Where(e)})");
        }
        catch (Exception e)
        {
            Fail(FailureKind.Crash, $"tick {Now}: unexpected {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
        }

        return Phase != SimulationPhase.Finished;
    }

    /// <summary>
    /// Crashes replica <paramref name="index"/> now, if it runs (no budget applies to this call): a power loss of
    /// its machine, as every crash of <see cref="LosePower"/> is. With lost writes modelled
    /// (<see cref="DiskFaults.LostNewestBatches"/>), half of such crashes (drawn from a stream of their own) are a
    /// crash of the process alone, which keeps the page cache: after it the replica's tail is certain.
    /// </summary>
    public void CrashReplica(int index, bool powerLoss = false)
    {
        if (Cluster.IsUp(index))
        {
            if (powerLoss || Cluster.Disk(index) is not { Faults.LostNewestBatches: true } || processCrashes.Chance(0.5))
            {
                Cluster.Crash(index);
            }
            else
            {
                Cluster.CrashProcess(index);
            }

            crashes++;
            snapshots[index] = default;
            TraceEvent($"r{index}", "crash");
        }
    }

    /// <summary>Restarts replica <paramref name="index"/> from its storage, if it is down.</summary>
    public void RestartReplica(int index)
    {
        if (!Cluster.IsUp(index))
        {
            replicaRestartAt[index] = 0;
            TraceEvent($"r{index}", "restart");
            Cluster.Restart(index);
        }
    }

    /// <summary>Starts a partition of the given kind now; it lasts until <see cref="HealNetwork"/> or its scheduled end.</summary>
    public void Partition(PartitionKind kind)
    {
        if (options.Replicas < 2)
        {
            return;
        }

        var network = Cluster.Network;
        network.HealAll();
        partitions++;
        var n = options.Replicas;
        switch (kind)
        {
            case PartitionKind.OneWay:
                var from = (int)faults.Below((ulong)n);
                var to = (from + 1 + (int)faults.Below((ulong)n - 1)) % n;
                network.Cut(Address(from), Address(to));
                TraceEvent("net", $"partition one-way r{from}->r{to}");
                break;
            case PartitionKind.IsolatePrimary:
                var primary = Cluster.Primary?.Index.Value ?? (int)faults.Below((ulong)n);
                for (var i = 0; i < n; i++)
                {
                    if (i != primary)
                    {
                        network.CutBoth(Address(primary), Address(i));
                    }
                }

                TraceEvent("net", $"partition isolate-primary r{primary}");
                break;
            default:
                var order = Enumerable.Range(0, n).ToArray();
                for (var i = n - 1; i > 0; i--)
                {
                    var j = (int)faults.Below((ulong)i + 1);
                    (order[i], order[j]) = (order[j], order[i]);
                }

                var split = 1 + (int)faults.Below((ulong)n - 1);
                var left = order[..split];
                var right = order[split..];
                foreach (var a in left)
                {
                    foreach (var b in right)
                    {
                        network.Cut(Address(a), Address(b));
                        if (kind == PartitionKind.Symmetric)
                        {
                            network.Cut(Address(b), Address(a));
                        }
                    }
                }

                TraceEvent("net", $"partition {(kind == PartitionKind.Symmetric ? "symmetric" : "asymmetric")} [{string.Join(' ', left)}] {(kind == PartitionKind.Symmetric ? "|" : "->|")} [{string.Join(' ', right)}]");
                break;
        }
    }

    /// <summary>Heals every partition and clogged path now.</summary>
    public void HealNetwork()
    {
        Cluster.Network.HealAll();
        Cluster.Network.Unclog();
        partitionUntil = 0;
        TraceEvent("net", "heal");
    }

    private static T Pick<T>(Prng prng, params T[] values) => values[prng.Below((ulong)values.Length)];

    private static ReplicaIndex Index(int i) => new((byte)i);

    private static NodeAddress Address(int i) => NodeAddress.Of(Index(i));

    private static NetworkOptions NetworkOptionsOf(FaultMix mix) => new()
    {
        DelayMin = mix.DelayMin,
        DelayMax = mix.DelayMax,
        Drop = mix.Drop,
        Duplicate = mix.Duplicate,
        TailChance = mix.TailChance,
        TailTicks = mix.TailTicks,
    };

    private void StepPhase()
    {
        if (Phase == SimulationPhase.Faults)
        {
            if (Workload.Done || Now >= (ulong)options.EffectiveFaultTicksMax)
            {
                Heal();
            }
            else
            {
                InjectFaults();
            }
        }

        Workload.Step(Now);
        switch (Phase)
        {
            case SimulationPhase.Healed:
                CheckRequestsProgress();
                if (Phase == SimulationPhase.Finished)
                {
                    return;
                }

                if (Workload.Done)
                {
                    Phase = SimulationPhase.Converging;
                    phaseStart = Now;
                }

                break;
            case SimulationPhase.Converging:
                if (Converged())
                {
                    Finish();
                    return;
                }

                if (Now - phaseStart > (ulong)livenessTicks)
                {
                    Fail(FailureKind.Liveness, $"tick {Now}: the replicas did not converge within {livenessTicks} ticks after the workload finished: {DescribeReplicas()}");
                    return;
                }

                break;
        }

        Cluster.Tick();
        if (Cluster.Network.InFlight > options.MessagesInFlightMax)
        {
            Fail(FailureKind.Liveness, $"tick {Now}: message storm: {Cluster.Network.InFlight} messages in flight (limit {options.MessagesInFlightMax}), {DescribeMessages()}: {DescribeReplicas()}");
        }
    }

    private string DescribeMessages()
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        Cluster.Network.DropWhere(packet =>
        {
            var key = $"{packet.From}->{packet.To} {packet.Message.Command} view {packet.Message.View}";
            counts[key] = counts.GetValueOrDefault(key) + 1;
            return false;
        });
        return "mostly " + string.Join(", ", counts.OrderByDescending(pair => pair.Value).Take(3).Select(pair => $"{pair.Value} {pair.Key}"));
    }

    private void InjectFaults()
    {
        var mix = Faults;
        var now = Now;
        for (var i = 0; i < replicaRestartAt.Length; i++)
        {
            if (replicaRestartAt[i] != 0 && now >= replicaRestartAt[i])
            {
                RestartReplica(i);
            }
        }

        for (var i = 0; i < clientRestartAt.Length; i++)
        {
            if (clientRestartAt[i] != 0 && now >= clientRestartAt[i])
            {
                clientRestartAt[i] = 0;
                TraceEvent($"c{i}", "restart");
                Workload.RestartClient(i);
            }
        }

        if (partitionUntil != 0 && now >= partitionUntil)
        {
            Cluster.Network.HealAll();
            partitionUntil = 0;
            TraceEvent("net", "partition healed");
        }

        if (enteredViewChange.Count > 0)
        {
            foreach (var index in enteredViewChange)
            {
                if (Cluster.IsUp(index) && faults.Chance(mix.CrashOnViewChange))
                {
                    ScheduledCrash(index);
                }
            }

            enteredViewChange.Clear();
        }

        if (faults.Chance(mix.ReplicaCrashRate))
        {
            ScheduledCrash((int)faults.Below((ulong)options.Replicas));
        }

        if (partitionUntil == 0 && options.Replicas > 1 && faults.Chance(mix.PartitionRate))
        {
            var kinds = mix.PartitionKinds.Count > 0
                ? mix.PartitionKinds
                : [PartitionKind.Symmetric, PartitionKind.Asymmetric, PartitionKind.OneWay, PartitionKind.IsolatePrimary];
            Partition(kinds[(int)faults.Below((ulong)kinds.Count)]);
            partitionUntil = now + 1 + faults.Below((ulong)Math.Max(1, mix.PartitionTicksMax));
        }

        if (options.Replicas > 1 && faults.Chance(mix.ClogRate))
        {
            var from = (int)faults.Below((ulong)options.Replicas);
            var to = (from + 1 + (int)faults.Below((ulong)options.Replicas - 1)) % options.Replicas;
            var until = now + 1 + faults.Below((ulong)Math.Max(1, mix.ClogTicksMax));
            var delay = 1 + (int)faults.Below((ulong)Math.Max(1, mix.ClogDelayMax));
            Cluster.Network.Clog(Index(from), Index(to), until, delay);
            TraceEvent("net", $"clog r{from}->r{to} +{delay} until {until}");
        }

        if (faults.Chance(mix.ClientCrashRate))
        {
            var slot = (int)faults.Below((ulong)options.Clients);
            if (Workload.IsUp(slot))
            {
                TraceEvent($"c{slot}", "crash");
                Workload.CrashClient(slot);
                clientRestartAt[slot] = now + 1 + faults.Below((ulong)Math.Max(1, mix.ClientDownTicksMax));
            }
        }

        if (faults.Chance(mix.PowerLossRate))
        {
            LosePower(mix.PowerDownTicksMax);
        }
    }

    /// <summary>
    /// Every replica loses power at once (no crash budget applies) and restarts within
    /// <paramref name="downTicksMax"/> ticks, each on its own schedule (at the latest when the faults heal).
    /// With simulated disks, what was not synced is lost or torn; nothing acknowledged may be lost.
    /// </summary>
    public void LosePower(int downTicksMax)
    {
        TraceEvent("sim", "power loss");
        powerLosses++;
        for (var i = 0; i < options.Replicas; i++)
        {
            CrashReplica(i, powerLoss: true);
            var restartAt = Now + 1 + faults.Below((ulong)Math.Max(1, downTicksMax));
            replicaRestartAt[i] = replicaRestartAt[i] == 0 ? restartAt : Math.Min(replicaRestartAt[i], restartAt);
        }
    }

    /// <summary>Crashes a replica if the budget allows: never more than f crashed or recovering at once.</summary>
    private void ScheduledCrash(int index)
    {
        if (!Cluster.IsUp(index) || Cluster.Unavailable + 1 > f)
        {
            return;
        }

        CrashReplica(index);
        replicaRestartAt[index] = Now + 1 + faults.Below((ulong)Math.Max(1, Faults.ReplicaDownTicksMax));
    }

    /// <summary>Ends the fault phase: every replica and client runs again, and the network is healed and lossless.</summary>
    private void Heal()
    {
        Phase = SimulationPhase.Healed;
        HealedAt = Now;
        TraceEvent("sim", "faults heal");
        HealNetwork();
        Cluster.Network.Options = Cluster.Network.Options with { Drop = 0, Duplicate = 0, TailChance = 0 };
        enteredViewChange.Clear();
        for (var i = 0; i < options.Replicas; i++)
        {
            RestartReplica(i);
        }

        for (var i = 0; i < options.Clients; i++)
        {
            if (!Workload.IsUp(i))
            {
                clientRestartAt[i] = 0;
                TraceEvent($"c{i}", "restart");
                Workload.RestartClient(i);
            }
        }
    }

    /// <summary>Liveness: once healed, no request waits longer than the bound.</summary>
    private void CheckRequestsProgress()
    {
        if (!Workload.OldestOutstanding(out var slot, out var since))
        {
            return;
        }

        var waited = Now - Math.Max(since, HealedAt);
        longestWait = Math.Max(longestWait, waited);
        if (waited > (ulong)livenessTicks)
        {
            Fail(FailureKind.Liveness, $"tick {Now}: {Workload.DescribeOutstanding(slot)} did not complete within {livenessTicks} ticks after the faults healed at tick {HealedAt}: {DescribeReplicas()}");
        }
    }

    private bool Converged()
    {
        var primary = Cluster.Primary;
        if (primary is null)
        {
            return false;
        }

        for (var i = 0; i < options.Replicas; i++)
        {
            if (!Cluster.IsUp(i))
            {
                return false;
            }

            var replica = Cluster.Replica(i);
            if (replica.Status != ReplicaStatus.Normal || replica.View != primary.View
                || replica.CommitNumber != primary.Op || replica.ExecutedOp != primary.Op || replica.Op != primary.Op)
            {
                return false;
            }
        }

        return true;
    }

    private void Finish()
    {
        var (verdict, failure) = CheckHistory();
        for (var i = 0; i < Workload.EventCount; i++)
        {
            var (process, type, valueLength) = Workload.EventShape(i);
            fingerprint = Mix(fingerprint, (ulong)process, (ulong)type, (ulong)valueLength, 0);
        }

        result = BuildResult(failure is null ? FailureKind.None : FailureKind.Correctness, failure, verdict);
        Phase = SimulationPhase.Finished;
        TraceEvent("sim", failure is null ? "passed" : $"failed: {failure}");
    }

    /// <summary>Checks the history so far for linearizability: operations still in flight may or may not have happened.</summary>
    private (Verdict Verdict, string? Failure) CheckHistory()
    {
        if (!options.CheckLinearizability)
        {
            return (Verdict.Unknown, null);
        }

        var budget = new CheckBudget(options.LinearizabilityStepsMax);
        var kv = LinearizabilityChecker.Check(KeyValueModel.Instance, Workload.KeyValueOperations(), budget);
        var adder = LinearizabilityChecker.Check(AdderModel.Instance, Workload.AdderOperations(), budget);
        if (kv.IsLinearizable && adder.IsLinearizable)
        {
            return (Verdict.Linearizable, null);
        }

        var failed = kv.Verdict == Verdict.NotLinearizable ? kv : adder;
        if (failed.Verdict != Verdict.NotLinearizable)
        {
            return (Verdict.Unknown, null);
        }

        var part = failed.FailingPartition!;
        var name = ReferenceEquals(failed, kv) ? $"key {part[0].Input.Key}" : "the adder";
        return (Verdict.NotLinearizable, $"tick {Now}: the client history is not linearizable on {name} ({part.Count} operations)");
    }

    /// <summary>
    /// Ends the run with a failure. The history so far is still checked (unless the code crashed): a
    /// liveness failure whose history is not linearizable is a correctness failure.
    /// </summary>
    private void Fail(FailureKind kind, string message)
    {
        var verdict = Verdict.Unknown;
        if (kind != FailureKind.Crash)
        {
            try
            {
                (verdict, var failure) = CheckHistory();
                if (failure is not null && kind == FailureKind.Liveness)
                {
                    (kind, message) = (FailureKind.Correctness, $"{failure}; and {message}");
                }
            }
            catch (InvalidOperationException)
            {
                verdict = Verdict.Unknown;
            }
        }

        result = BuildResult(kind, message, verdict);
        Phase = SimulationPhase.Finished;
        try
        {
            TraceEvent("sim", $"failed ({kind}): {message}");
        }
        catch (Exception)
        {
            // The trace itself may be what failed; the result already says so.
        }
    }

    private SimulationResult BuildResult(FailureKind kind, string? message, Verdict verdict) => new()
    {
        Seed = options.Seed,
        Failure = kind,
        Message = message,
        OpsCommitted = (long)Cluster.Checker.HighestCommitted.Value,
        RequestsInvoked = Workload.Invoked,
        RequestsCompleted = Workload.Completed,
        RequestsUnknown = Workload.Unknown,
        Linearizability = verdict,
        ViewChanges = Math.Max(0, Cluster.Checker.ViewsStarted - 1),
        Crashes = crashes,
        ClientCrashes = Workload.ClientCrashes,
        Partitions = partitions,
        PowerLosses = powerLosses,
        LatentCorruptions = Enumerable.Range(0, options.Replicas).Sum(i => Cluster.Disk(i)?.Statistics.LatentCorruptions ?? 0),
        EntriesRepaired = Cluster.EntriesRepaired,
        RottenTailsCut = Enumerable.Range(0, options.Replicas).Sum(i => Cluster.Disk(i)?.Statistics.RottenTailsCut ?? 0),
        LostNewestBatches = Enumerable.Range(0, options.Replicas).Sum(i => Cluster.Disk(i)?.Statistics.LostNewestBatches ?? 0),
        Ticks = Now,
        HealedAt = HealedAt,
        LongestWaitAfterHeal = longestWait,
        ConvergenceTicks = Phase == SimulationPhase.Converging ? Now - phaseStart : 0,
        MessagesSent = Cluster.Network.Sent,
        MessagesDropped = Cluster.Network.Dropped,
        Faults = Faults,
        CheckpointInterval = CheckpointInterval,
        LogSuffix = LogSuffix,
        CheckpointBytesInterval = CheckpointBytesInterval,
        ViewChangeCommittedBytesMax = ViewChangeCommittedBytesMax,
        Fingerprint = fingerprint,
    };

    /// <summary>Called after every step of a replica: records state transitions for the trace and the fingerprint.</summary>
    private void Observe(Replica replica)
    {
        var index = replica.Index.Value;
        ref var last = ref snapshots[index];
        var status = replica.Status;
        var view = replica.View.Value;
        var op = replica.Op.Value;
        var commit = replica.CommitNumber.Value;
        var checkpoint = replica.CheckpointOp.Value;
        if (last.Known && last.Status == status && last.View == view && last.Op == op && last.Commit == commit && last.Checkpoint == checkpoint)
        {
            return;
        }

        if (status == ReplicaStatus.ViewChange && (!last.Known || last.Status != ReplicaStatus.ViewChange) && Faults.CrashOnViewChange > 0)
        {
            enteredViewChange.Add(index);
        }

        last = new ReplicaSnapshot(true, status, view, op, commit, checkpoint);
        fingerprint = Mix(fingerprint, Now, ((ulong)index << 8) | (byte)status, view, op ^ (commit << 32) ^ (checkpoint << 48));
        trace?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Now} r{index} {StatusName(status)} {view} {op} {commit} {checkpoint} {(replica.IsPrimary ? "primary" : "backup")}"));
    }

    private void TraceEvent(string target, string text)
    {
        fingerprint = Mix(fingerprint, Now, (ulong)target.Length, (ulong)text.Length, 1);
        trace?.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{Now} {target} {text}"));
    }

    private string DescribeReplicas()
    {
        var parts = new List<string>();
        for (var i = 0; i < options.Replicas; i++)
        {
            if (!Cluster.IsUp(i))
            {
                parts.Add($"r{i} down");
                continue;
            }

            var r = Cluster.Replica(i);
            parts.Add(string.Create(CultureInfo.InvariantCulture,
                $"r{i} {StatusName(r.Status)} view {r.View} op {r.Op} commit {r.CommitNumber} executed {r.ExecutedOp}{(r.IsPrimary ? " primary" : string.Empty)}"));
        }

        return string.Join("; ", parts);
    }

    /// <summary>The innermost methods an exception passed through, below the invariant check itself.</summary>
    private static string Where(Exception e)
    {
        var frames = new System.Diagnostics.StackTrace(e).GetFrames()
            .Select(frame => frame.GetMethod())
            .Where(method => method is not null && method.DeclaringType != typeof(Invariant))
            .Take(3)
            .Select(method => $"{method!.DeclaringType?.Name}.{method.Name}");
        return string.Join(" <- ", frames);
    }

    /// <summary>The trace's name of a status.</summary>
    public static string StatusName(ReplicaStatus status) => status switch
    {
        ReplicaStatus.Normal => "normal",
        ReplicaStatus.ViewChange => "view-change",
        _ => "recovering",
    };

    private static ulong Mix(ulong hash, ulong a, ulong b, ulong c, ulong d)
    {
        hash = (hash ^ a) * 0x100000001B3UL;
        hash = (hash ^ b) * 0x9E3779B97F4A7C15UL;
        hash = (hash ^ c) * 0x100000001B3UL;
        hash = (hash ^ d) * 0xBF58476D1CE4E5B9UL;
        return hash ^ (hash >> 31);
    }

    private readonly record struct ReplicaSnapshot(bool Known, ReplicaStatus Status, ulong View, ulong Op, ulong Commit, ulong Checkpoint);
}
