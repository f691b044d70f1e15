using Viewstamped.Messages;
using Viewstamped.Samples;
using static Viewstamped.Tests.Protocol.ReplicaHarness;

namespace Viewstamped.Tests.Protocol;

/// <summary>
/// Protocol-aware repair of single entries: a replica whose disk lost an entry that has an intact
/// successor fetches exactly that entry by the checksum the successor names, verifies it, writes it
/// back and is intact again; without a known identity it takes the safe path.
/// </summary>
public class EntryRepairTests
{
    private static readonly ReplicaOptions Options = new()
    {
        Cluster = ClusterId,
        ReplicaCount = 3,
        Replica = new ReplicaIndex(1),
        Seed = 5,
    };

    /// <summary>Entries 1 to <paramref name="count"/> chained as a primary chains them.</summary>
    private static LogEntry[] Chain(int count)
    {
        var entries = new LogEntry[count];
        entries[0] = Registration(1, 0);
        for (var i = 1; i < count; i++)
        {
            entries[i] = Entry((ulong)i + 1, 0, request: (ulong)i, value: i) with { Parent = entries[i - 1].Checksum() };
        }

        return entries;
    }

    private static DurableState Damaged(LogEntry[] kept, params LogEntry?[] suffix) =>
        new(new HardState(new View(0), new View(0), new OpNumber((ulong)(kept.Length + suffix.Length))), null, kept, new OpNumber((ulong)kept.Length))
        {
            LogDamaged = true,
            DamagedSuffix = suffix,
        };

    [Fact]
    public void A_primary_chains_each_new_entry_to_the_one_before_it()
    {
        var primary = new ReplicaHarness(0);
        primary.Step(new Request(new ClientId(7), 0, RequestKind.Register, []) { Header = FromClient() });
        primary.Step(new PrepareOk(new OpNumber(1)) { Header = From(1, 0) });
        primary.Step(new Request(new ClientId(7), 1, RequestKind.Operation, Adder.Encode(3)) { Header = FromClient() });
        primary.Step(new Request(new ClientId(8), 0, RequestKind.Register, []) { Header = FromClient() });

        var log = primary.Storage.Load().Entries;
        Assert.Equal(3, log.Count);
        Assert.Equal(0UL, log[0].Parent);
        Assert.Equal(log[0].Checksum(), log[1].Parent);
        Assert.Equal(log[1].Checksum(), log[2].Parent);
    }

    [Fact]
    public void A_lost_entry_is_fetched_by_its_checksum_verified_and_written_back_without_a_reset()
    {
        var chain = Chain(4);
        var storage = new MemoryStorage();
        storage.Persist(new Ready { LogChanges = { new LogChange(LogChangeKind.Append, chain[0].Op, chain[0]), new LogChange(LogChangeKind.Append, chain[1].Op, chain[1]) } });
        var replica = new Replica(Options, new Adder(), Damaged(chain[..2], null, chain[3]));

        // It stays out of every vote and first asks one peer for op 3, naming the checksum op 4 carries.
        Assert.True(replica.IsRepairingEntries);
        Assert.Equal(ReplicaStatus.Recovering, replica.Status);
        var ready = replica.TakeReady();
        storage.Persist(ready);
        Assert.True(ready.HardState?.LogDamaged);
        var request = Assert.Single(ready.Messages.Select(e => e.Message).OfType<RequestEntry>());
        Assert.Equal(new OpNumber(3), request.Op);
        Assert.Equal(chain[2].Checksum(), request.Checksum);
        Assert.DoesNotContain(ready.Messages, e => e.Message is Recovery or DoViewChange);
        Assert.Equal(new OpNumber(2), replica.Op);

        // A different entry for op 3 (another view's, say) is refused.
        replica.Step(new RepairEntry(chain[2] with { View = new View(1) }) { Header = From(2, 1) });
        Assert.True(replica.IsRepairingEntries);

        // Unanswered, the request goes to the other peer after a retry period.
        for (var i = 0; i < Options.RetryTicks && !replica.HasReady; i++)
        {
            replica.Tick();
        }

        var retry = replica.TakeReady();
        storage.Persist(retry);
        var resent = Assert.Single(retry.Messages, e => e.Message is RequestEntry);
        Assert.NotEqual(Assert.Single(ready.Messages, e => e.Message is RequestEntry).To, resent.To);

        // The right entry completes the log: ops 3 and 4 are written back, the flag cleared with them.
        replica.Step(new RepairEntry(chain[2]) { Header = From(0, 0) });
        Assert.False(replica.IsRepairingEntries);
        var repaired = replica.TakeReady();
        storage.Persist(repaired);
        Assert.False(repaired.HardState?.LogDamaged ?? true);
        Assert.Equal([new OpNumber(3), new OpNumber(4)], repaired.LogChanges.Where(c => c.Kind == LogChangeKind.Append).Select(c => c.Op));
        Assert.Contains(repaired.Messages, e => e.Message is Recovery);
        Assert.Equal(chain, storage.Load().Entries);
        Assert.Equal(new OpNumber(4), replica.Op);
        Assert.Equal(new OpNumber(4), replica.CommitNumber);
    }

    [Fact]
    public void A_run_of_lost_entries_is_repaired_backwards_along_the_chain()
    {
        var chain = Chain(5);
        var replica = new Replica(Options, new Adder(), Damaged(chain[..1], null, null, null, chain[4]));
        var first = replica.TakeReady().Messages.Select(e => e.Message).OfType<RequestEntry>().Single();
        Assert.Equal(new OpNumber(4), first.Op);

        replica.Step(new RepairEntry(chain[3]) { Header = From(0, 0) });
        Assert.Equal(new OpNumber(3), replica.TakeReady().Messages.Select(e => e.Message).OfType<RequestEntry>().Single().Op);
        replica.Step(new RepairEntry(chain[2]) { Header = From(2, 0) });
        replica.Step(new RepairEntry(chain[1]) { Header = From(0, 0) });

        Assert.False(replica.IsRepairingEntries);
        Assert.Equal(chain, Enumerable.Range(1, 5).Select(op => replica.EntryAt(new OpNumber((ulong)op))));
    }

    [Fact]
    public void A_peer_sends_an_entry_only_when_it_holds_the_one_asked_for()
    {
        var peer = new ReplicaHarness(2);
        var chain = Chain(3);
        peer.Step(new Prepare(OpNumber.Zero, chain) { Header = From(0, 0) });
        peer.Clear();

        peer.Step(new RequestEntry(new OpNumber(2), chain[1].Checksum() ^ 1) { Header = From(1, 0) });
        peer.Step(new RequestEntry(new OpNumber(9), chain[1].Checksum()) { Header = From(1, 0) });
        Assert.Empty(peer.SentOf<RepairEntry>());

        peer.Step(new RequestEntry(new OpNumber(2), chain[1].Checksum()) { Header = From(1, 0) });
        Assert.Equal(chain[1], Assert.Single(peer.SentOf<RepairEntry>()).Entry);
    }

    [Fact]
    public void Without_the_lost_entry_s_identity_it_takes_the_safe_path()
    {
        // The newest entry is lost: nothing names it.
        var chain = Chain(3);
        var replica = new Replica(Options, new Adder(), Damaged(chain[..1], chain[1], null));
        Assert.False(replica.IsRepairingEntries);
        var ready = replica.TakeReady();
        Assert.Contains(ready.Messages, e => e.Message is Recovery);
        Assert.Equal(OpNumber.Zero, replica.Op);

        // The intact entries do not chain: the suffix is not the log it claims to be.
        var broken = new Replica(Options, new Adder(), Damaged(chain[..1], null, chain[2] with { Parent = 12345 }, chain[2] with { Op = new OpNumber(4) }));
        Assert.False(broken.IsRepairingEntries);
    }

    [Fact]
    public void When_no_peer_holds_the_entry_it_gives_up_and_takes_the_safe_path()
    {
        var chain = Chain(3);
        var replica = new Replica(Options, new Adder(), Damaged(chain[..1], null, chain[2]));
        replica.TakeReady();
        var ticks = 0;
        while (replica.IsRepairingEntries && ticks++ < 100 * Options.RetryTicks)
        {
            replica.Tick();
        }

        Assert.False(replica.IsRepairingEntries);
        var ready = replica.TakeReady();
        Assert.Contains(ready.Messages, e => e.Message is Recovery);
        // Op 1 was committed and executed before the repair began; nothing after it is trusted.
        Assert.Contains(ready.LogChanges, c => c.Kind == LogChangeKind.Reset && c.Op == new OpNumber(1));
        Assert.Equal(new OpNumber(1), replica.Op);
        Assert.NotEqual(false, ready.HardState?.LogDamaged);
    }

    [Fact]
    public void A_peer_s_log_installed_meanwhile_ends_the_repair()
    {
        var chain = Chain(3);
        var replica = new Replica(Options, new Adder(), Damaged(chain[..1], null, chain[2]));
        replica.TakeReady();
        replica.Step(new StartView(new OpNumber(3), new OpNumber(3), chain) { Header = From(2, 2) });

        Assert.False(replica.IsRepairingEntries);
        Assert.Equal(ReplicaStatus.Normal, replica.Status);
        Assert.False(replica.TakeReady().HardState?.LogDamaged ?? true);
        replica.Step(new RepairEntry(chain[1]) { Header = From(0, 0) });
        Assert.Equal(chain[1], replica.EntryAt(new OpNumber(2)));
    }
}
