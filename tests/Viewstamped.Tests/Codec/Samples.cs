using Viewstamped.Messages;

namespace Viewstamped.Tests.Codec;

/// <summary>Random and extreme messages of every type, drawn from a seeded <see cref="Prng"/>.</summary>
internal static class Samples
{
    public static readonly UInt128 Cluster = new(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);

    public static readonly Command[] Commands = Enum.GetValues<Command>();

    public static MessageHeader Header(Prng prng) => new(
        Cluster,
        (uint)U64(prng),
        new View(U64(prng)),
        prng.Chance(0.1) ? ReplicaIndex.None : new ReplicaIndex((byte)prng.Below(256)));

    public static Message Random(Prng prng) => Random(prng, Commands[prng.Below((ulong)Commands.Length)]);

    public static Message Random(Prng prng, Command command, int entriesMax = 4, int bytesMax = 24)
    {
        var header = Header(prng);
        return command switch
        {
            Command.Request => new Request(new ClientId(U128(prng)), U64(prng), prng.Chance(0.5) ? RequestKind.Register : RequestKind.Operation, Bytes(prng, bytesMax)) { Header = header },
            Command.Reply => new Reply(new ClientId(U128(prng)), U64(prng), (ReplyStatus)prng.Below(9), Op(prng), Bytes(prng, bytesMax)) { Header = header },
            Command.Prepare => new Prepare(Op(prng), Entries(prng, entriesMax, bytesMax)) { Header = header },
            Command.PrepareOk => new PrepareOk(Op(prng)) { Header = header },
            Command.Commit => new Commit(Op(prng), Op(prng)) { Header = header },
            Command.StartViewChange => new StartViewChange { Header = header },
            Command.DoViewChange => new DoViewChange(new View(U64(prng)), Op(prng), Op(prng), Entries(prng, entriesMax, bytesMax))
            {
                Header = header,
                TailUncertain = prng.Chance(0.25),
                LogDamaged = prng.Chance(0.25),
            },
            Command.StartView => new StartView(Op(prng), Op(prng), Entries(prng, entriesMax, bytesMax)) { Header = header },
            Command.Recovery => new Recovery(U128(prng)) { Header = header },
            Command.RecoveryResponse => new RecoveryResponse(U128(prng), Op(prng), Op(prng), Entries(prng, entriesMax, bytesMax)) { Header = header },
            Command.GetState => new GetState(Op(prng)) { Header = header },
            Command.NewState => new NewState(Op(prng), Op(prng), Entries(prng, entriesMax, bytesMax), Op(prng), U64(prng), U64(prng)) { Header = header },
            Command.GetCheckpoint => new GetCheckpoint(Op(prng), U64(prng)) { Header = header },
            Command.CheckpointChunk => new CheckpointChunk(Op(prng), U64(prng), U64(prng), U64(prng), Bytes(prng, bytesMax)) { Header = header },
            Command.RequestEntry => new RequestEntry(Op(prng), U64(prng)) { Header = header },
            Command.RepairEntry => new RepairEntry(Entry(prng, Op(prng), bytesMax)) { Header = header },
            _ => throw new ArgumentOutOfRangeException(nameof(command)),
        };
    }

    /// <summary>Every message type with every number at its maximum and non-empty arrays.</summary>
    public static IEnumerable<Message> Extremes()
    {
        var header = new MessageHeader(Cluster, uint.MaxValue, new View(ulong.MaxValue), ReplicaIndex.None);
        var max = new OpNumber(ulong.MaxValue);
        var client = new ClientId(UInt128.MaxValue);
        byte[] bytes = [0x00, 0xff, 0x80, 0x7f];
        LogEntry[] entries =
        [
            new(new OpNumber(ulong.MaxValue - 1), new View(ulong.MaxValue), EntryKind.Register, client, ulong.MaxValue, bytes, []) { Parent = ulong.MaxValue },
            new(max, new View(ulong.MaxValue), EntryKind.Operation, client, ulong.MaxValue, [], bytes) { Parent = ulong.MaxValue },
        ];
        yield return new Request(client, ulong.MaxValue, RequestKind.Operation, bytes) { Header = header };
        yield return new Reply(client, ulong.MaxValue, ReplyStatus.TooLarge, max, bytes) { Header = header };
        yield return new Prepare(max, entries) { Header = header };
        yield return new PrepareOk(max) { Header = header };
        yield return new Commit(max, max) { Header = header };
        yield return new StartViewChange { Header = header };
        yield return new DoViewChange(new View(ulong.MaxValue), max, max, entries) { Header = header };
        yield return new StartView(max, max, entries) { Header = header };
        yield return new Recovery(UInt128.MaxValue) { Header = header };
        yield return new RecoveryResponse(UInt128.MaxValue, max, max, entries) { Header = header };
        yield return new GetState(max) { Header = header };
        yield return new NewState(max, max, entries, max, ulong.MaxValue, ulong.MaxValue) { Header = header };
        yield return new GetCheckpoint(max, ulong.MaxValue) { Header = header };
        yield return new CheckpointChunk(max, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, bytes) { Header = header };
        yield return new RequestEntry(max, ulong.MaxValue) { Header = header };
        yield return new RepairEntry(entries[1]) { Header = header };
    }

    /// <summary>Every message type with every number zero and every array empty.</summary>
    public static IEnumerable<Message> Minimal()
    {
        var header = new MessageHeader(Cluster, 0, new View(0), new ReplicaIndex(0));
        var zero = OpNumber.Zero;
        var client = new ClientId(0);
        yield return new Request(client, 0, RequestKind.Register, []) { Header = header };
        yield return new Reply(client, 0, ReplyStatus.Ok, zero, []) { Header = header };
        yield return new Prepare(zero, []) { Header = header };
        yield return new PrepareOk(zero) { Header = header };
        yield return new Commit(zero, zero) { Header = header };
        yield return new StartViewChange { Header = header };
        yield return new DoViewChange(new View(0), zero, zero, []) { Header = header };
        yield return new StartView(zero, zero, []) { Header = header };
        yield return new Recovery(0) { Header = header };
        yield return new RecoveryResponse(0, zero, zero, []) { Header = header };
        yield return new GetState(zero) { Header = header };
        yield return new NewState(zero, zero, [], zero, 0, 0) { Header = header };
        yield return new GetCheckpoint(zero, 0) { Header = header };
        yield return new CheckpointChunk(zero, 0, 0, 0, []) { Header = header };
        yield return new RequestEntry(zero, 0) { Header = header };
        yield return new RepairEntry(new LogEntry(zero, new View(0), EntryKind.Register, client, 0, [], [])) { Header = header };
    }

    public static LogEntry[] Entries(Prng prng, int countMax, int bytesMax)
    {
        var count = prng.Between(0, countMax);
        if (count == 0)
        {
            return [];
        }

        var first = prng.Below(1_000_000) + 1;
        var entries = new LogEntry[count];
        for (var i = 0; i < count; i++)
        {
            entries[i] = Entry(prng, new OpNumber(first + (ulong)i), bytesMax);
        }

        return entries;
    }

    public static LogEntry Entry(Prng prng, OpNumber op, int bytesMax) => new(
        op,
        new View(U64(prng)),
        prng.Chance(0.5) ? EntryKind.Register : EntryKind.Operation,
        new ClientId(U128(prng)),
        U64(prng),
        Bytes(prng, bytesMax),
        Bytes(prng, bytesMax))
    {
        Parent = U64(prng),
    };

    public static byte[] Bytes(Prng prng, int lengthMax)
    {
        if (lengthMax == 0 || prng.Chance(0.3))
        {
            return [];
        }

        var bytes = new byte[prng.Between(1, lengthMax)];
        Fill(prng, bytes);
        return bytes;
    }

    public static void Fill(Prng prng, Span<byte> bytes)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)prng.NextUInt64();
        }
    }

    // Zero, the maximum, small and fully random values, so boundaries come up often.
    private static ulong U64(Prng prng) => prng.Below(4) switch
    {
        0 => 0,
        1 => ulong.MaxValue,
        2 => prng.Below(1000),
        _ => prng.NextUInt64(),
    };

    private static UInt128 U128(Prng prng) => prng.Below(4) switch
    {
        0 => 0,
        1 => UInt128.MaxValue,
        2 => prng.Below(1000),
        _ => prng.NextUInt128(),
    };

    private static OpNumber Op(Prng prng) => new(U64(prng));
}
