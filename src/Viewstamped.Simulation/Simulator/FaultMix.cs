using System.Globalization;
using System.Text;

namespace Viewstamped.Simulation;

/// <summary>Which faults a run injects.</summary>
public enum FaultProfile
{
    /// <summary>No faults: a calm network and no crashes.</summary>
    None,

    /// <summary>Network faults only: delays, loss, duplication, reordering, partitions, clogged paths.</summary>
    Network,

    /// <summary>Process faults only: replica and client crashes and restarts.</summary>
    Crash,

    /// <summary>Every kind of fault, each with an intensity drawn from the seed.</summary>
    All,

    /// <summary>Swarm testing: each seed enables its own subset of fault kinds, with its own intensities.</summary>
    Swarm,

    /// <summary>
    /// Disk faults: every replica on a simulated disk (sync latency, lost and torn writes on power loss,
    /// bit flips on read, misdirected superblock writes), with replica crashes and whole-cluster power losses.
    /// </summary>
    Disk,
}

/// <summary>The kinds of partition the fault injector makes.</summary>
public enum PartitionKind
{
    /// <summary>The replicas split in two groups that cannot talk to each other.</summary>
    Symmetric,

    /// <summary>The replicas split in two groups; one group's messages to the other are lost, the other way works.</summary>
    Asymmetric,

    /// <summary>One path from one replica to another is cut.</summary>
    OneWay,

    /// <summary>The primary is cut off from every other replica (clients still reach it).</summary>
    IsolatePrimary,
}

/// <summary>
/// The faults of one run and their intensities. Rates are per tick (for events) or per message (for
/// loss and duplication); durations are in ticks and drawn uniformly up to their maximum.
/// </summary>
public sealed record FaultMix
{
    /// <summary>A calm run: one-tick delays and no faults.</summary>
    public static FaultMix Calm { get; } = new();

    /// <summary>The shortest message delay.</summary>
    public int DelayMin { get; init; } = 1;

    /// <summary>The longest message delay on a normal path; a spread reorders messages.</summary>
    public int DelayMax { get; init; } = 1;

    /// <summary>Each path between two replicas adds up to this many ticks to its own delay range.</summary>
    public int PathDelaySpread { get; init; }

    /// <summary>Probability that a message is lost.</summary>
    public double Drop { get; init; }

    /// <summary>Probability that a message is delivered twice.</summary>
    public double Duplicate { get; init; }

    /// <summary>Probability that a message takes the long tail of the delay distribution.</summary>
    public double TailChance { get; init; }

    /// <summary>The most extra ticks of the long tail.</summary>
    public int TailTicks { get; init; }

    /// <summary>Per tick, the probability that a partition starts (when none is in force).</summary>
    public double PartitionRate { get; init; }

    /// <summary>The longest a partition lasts.</summary>
    public int PartitionTicksMax { get; init; }

    /// <summary>The kinds of partition to choose from; empty means all.</summary>
    public IReadOnlyList<PartitionKind> PartitionKinds { get; init; } = [];

    /// <summary>Per tick, the probability that a path between two replicas clogs.</summary>
    public double ClogRate { get; init; }

    /// <summary>The longest a path stays clogged.</summary>
    public int ClogTicksMax { get; init; }

    /// <summary>The most extra delay of a clogged path.</summary>
    public int ClogDelayMax { get; init; }

    /// <summary>Per tick, the probability that a replica crashes (never more than f unavailable at once).</summary>
    public double ReplicaCrashRate { get; init; }

    /// <summary>The longest a crashed replica stays down.</summary>
    public int ReplicaDownTicksMax { get; init; } = 1;

    /// <summary>Probability that a replica that just started a view change crashes right then (within the crash budget).</summary>
    public double CrashOnViewChange { get; init; }

    /// <summary>Per tick, the probability that a client process crashes.</summary>
    public double ClientCrashRate { get; init; }

    /// <summary>The longest a crashed client slot stays down before a new session takes over.</summary>
    public int ClientDownTicksMax { get; init; } = 1;

    /// <summary>
    /// The faults of every replica's simulated disk; null keeps the replicas' state in memory, where every
    /// write is durable at once and a crash loses nothing written.
    /// </summary>
    public DiskFaults? Disk { get; init; }

    /// <summary>Per tick, the probability that every replica loses power at once (outside the crash budget: the whole cluster restarts).</summary>
    public double PowerLossRate { get; init; }

    /// <summary>The longest a replica stays down after a power loss.</summary>
    public int PowerDownTicksMax { get; init; } = 1;

    /// <summary>True when the mix injects anything but delays.</summary>
    public bool HasFaults =>
        Drop > 0 || Duplicate > 0 || TailChance > 0 || PartitionRate > 0 || ClogRate > 0
        || ReplicaCrashRate > 0 || CrashOnViewChange > 0 || ClientCrashRate > 0 || Disk is not null || PowerLossRate > 0;

    /// <summary>The most ticks a sync takes: 0 without simulated disks.</summary>
    public int SyncLatencyTicksMax => Disk?.SyncLatencyTicksMax ?? 0;

    /// <summary>
    /// Draws the mix of <paramref name="profile"/> from <paramref name="prng"/>: the network and crash
    /// faults here, the disk faults with <see cref="DrawDisk"/>, which a run calls after every other draw
    /// so that a seed whose disk faults are off replays exactly as before disk faults existed.
    /// </summary>
    public static FaultMix Draw(FaultProfile profile, Prng prng)
    {
        if (profile == FaultProfile.None)
        {
            return Calm;
        }


        var swarm = profile == FaultProfile.Swarm;
        var network = profile is FaultProfile.Network or FaultProfile.All or FaultProfile.Swarm;
        var crash = profile is FaultProfile.Crash or FaultProfile.All or FaultProfile.Swarm or FaultProfile.Disk;

        // A swarm seed is calm (delays only) one time in ten, has every kind of fault one time in ten,
        // and otherwise turns each kind on with probability 1/2. Every kind on gets an intensity of its own.
        var swarmMode = swarm ? prng.Below(10) : 1;
        if (swarmMode == 0)
        {
            var min = 1 + (int)prng.Below(3);
            return Calm with { DelayMin = min, DelayMax = min + (int)prng.Below(4) };
        }

        bool On(bool allowed) => allowed && (swarmMode == 1 || prng.Chance(0.5));
        T Pick<T>(params T[] levels) => levels[prng.Below((ulong)levels.Length)];

        var delayMin = network ? 1 + (int)prng.Below(3) : 1;
        var mix = new FaultMix
        {
            DelayMin = delayMin,
            DelayMax = delayMin + (On(network) ? Pick(1, 3, 8, 20) : 0),
            PathDelaySpread = On(network) ? Pick(2, 5, 15) : 0,
            Drop = On(network) ? Pick(0.005, 0.02, 0.05, 0.15) : 0,
            Duplicate = On(network) ? Pick(0.005, 0.02, 0.1) : 0,
        };

        if (On(network))
        {
            mix = mix with { TailChance = Pick(0.002, 0.01, 0.05), TailTicks = Pick(50, 150, 400) };
        }

        if (On(network))
        {
            mix = mix with { PartitionRate = Pick(0.001, 0.003, 0.01), PartitionTicksMax = Pick(100, 400, 1500) };
        }

        if (On(network))
        {
            mix = mix with { ClogRate = Pick(0.001, 0.005, 0.02), ClogTicksMax = Pick(100, 500), ClogDelayMax = Pick(30, 100, 300) };
        }

        if (On(crash))
        {
            mix = mix with { ReplicaCrashRate = Pick(0.0005, 0.002, 0.006), ReplicaDownTicksMax = Pick(20, 200, 1000) };
        }

        if (On(crash))
        {
            mix = mix with { CrashOnViewChange = Pick(0.05, 0.2, 0.5) };
        }

        if (On(crash))
        {
            mix = mix with { ClientCrashRate = Pick(0.0005, 0.002, 0.01), ClientDownTicksMax = Pick(10, 100, 500) };
        }

        return mix;
    }

    /// <summary>
    /// Adds the disk faults of <paramref name="profile"/> to <paramref name="mix"/>, drawn from
    /// <paramref name="prng"/>: always for <see cref="FaultProfile.Disk"/> and <see cref="FaultProfile.All"/>,
    /// for half of the swarm seeds that have faults at all, never otherwise (and then nothing is drawn).
    /// </summary>
    public static FaultMix DrawDisk(FaultProfile profile, FaultMix mix, Prng prng)
    {
        ArgumentNullException.ThrowIfNull(mix);
        ArgumentNullException.ThrowIfNull(prng);
        var on = profile switch
        {
            FaultProfile.Disk or FaultProfile.All => true,
            FaultProfile.Swarm => mix.HasFaults && prng.Chance(0.5),
            _ => false,
        };
        if (!on)
        {
            return mix;
        }

        T Pick<T>(params T[] levels) => levels[prng.Below((ulong)levels.Length)];
        var disk = new DiskFaults
        {
            LostWriteProbability = Pick(0.1, 0.5, 0.9),
            TornWriteProbability = Pick(0.1, 0.3, 0.7),
            ReadFlipProbability = Pick(0, 0.001, 0.01),
            MisdirectedSuperblockWriteProbability = Pick(0, 0.02, 0.2),
            SyncLatencyTicksMax = Pick(0, 1, 3, 8),
        };
        var powerLoss = profile != FaultProfile.Swarm || prng.Chance(0.5);
        var powerLossRate = powerLoss ? Pick(0.0002, 0.0005, 0.0015) : 0;
        var powerDownTicksMax = powerLoss ? Pick(5, 50, 300) : 1;

        // Drawn after everything that existed before it, so the choices above stay what they were.
        disk = disk with { LatentCorruptionProbability = Pick(0, 0.002, 0.01, 0.05), LatentCorruptionsMax = 3 };
        return mix with
        {
            Disk = disk,
            PowerLossRate = powerLossRate,
            PowerDownTicksMax = powerDownTicksMax,
        };
    }

    /// <inheritdoc />
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"delay {DelayMin}-{DelayMax}");
        if (PathDelaySpread > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"+path{PathDelaySpread}");
        }

        Append(text, "drop", Drop);
        Append(text, "dup", Duplicate);
        if (TailChance > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", tail {TailChance:0.###}x{TailTicks}");
        }

        if (PartitionRate > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", partitions {PartitionRate:0.####}/tick up to {PartitionTicksMax}");
        }

        if (ClogRate > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", clogs {ClogRate:0.####}/tick up to {ClogTicksMax} (+{ClogDelayMax})");
        }

        if (ReplicaCrashRate > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", crashes {ReplicaCrashRate:0.####}/tick down up to {ReplicaDownTicksMax}");
        }

        Append(text, "crash-on-view-change", CrashOnViewChange);
        if (ClientCrashRate > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", client crashes {ClientCrashRate:0.####}/tick down up to {ClientDownTicksMax}");
        }

        if (Disk is { } disk)
        {
            text.Append(CultureInfo.InvariantCulture,
                $", disk (lost {disk.LostWriteProbability:0.###}, torn {disk.TornWriteProbability:0.###}, read flips {disk.ReadFlipProbability:0.####}, misdirected {disk.MisdirectedSuperblockWriteProbability:0.###}, sync up to {disk.SyncLatencyTicksMax}, latent {disk.LatentCorruptionProbability:0.###}x{disk.LatentCorruptionsMax}{(disk.LostNewestBatches ? ", lost newest batches" : string.Empty)})");
        }

        if (PowerLossRate > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", power losses {PowerLossRate:0.####}/tick down up to {PowerDownTicksMax}");
        }

        return text.ToString();
    }

    private static void Append(StringBuilder text, string name, double rate)
    {
        if (rate > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {name} {rate:0.###}");
        }
    }
}
