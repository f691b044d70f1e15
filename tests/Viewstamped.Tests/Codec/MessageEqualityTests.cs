using Viewstamped.Codec;
using Viewstamped.Messages;

namespace Viewstamped.Tests.Codec;

public class MessageEqualityTests
{
    private static readonly MessageHeader Header = new(Samples.Cluster, 0, new View(3), new ReplicaIndex(0));

    private static readonly LogEntry Entry = new(new OpNumber(6), new View(2), EntryKind.Operation, new ClientId(0xab), 4, [1, 2], [3]);

    // Initialized after Header and Entry, which it uses.
    private static readonly Dictionary<string, (Message A, Message B)> DifferencesByField = BuildDifferences();

    [Fact]
    public void Byte_arrays_are_compared_by_content_not_reference()
    {
        var a = new Request(new ClientId(1), 2, RequestKind.Operation, [1, 2, 3]) { Header = Header };
        var b = new Request(new ClientId(1), 2, RequestKind.Operation, [1, 2, 3]) { Header = Header };
        Assert.NotEqual(a, b); // the record's own equality compares the arrays by reference
        Assert.True(MessageEquality.Equal(a, b));
        Assert.False(MessageEquality.Equal(a, b with { Operation = [1, 2, 4] }));
        Assert.False(MessageEquality.Equal(a, b with { Operation = [1, 2] }));
        Assert.False(MessageEquality.Equal(a, b with { Operation = [] }));
    }

    [Fact]
    public void Nulls_and_different_types_are_handled()
    {
        var commit = new Commit(new OpNumber(1), new OpNumber(1)) { Header = Header };
        Assert.True(MessageEquality.Equal(null, null));
        Assert.False(MessageEquality.Equal(commit, null));
        Assert.False(MessageEquality.Equal(null, commit));
        Assert.False(MessageEquality.Equal(commit, new PrepareOk(new OpNumber(1)) { Header = Header }));
        Assert.False(MessageEquality.Equal(new GetState(new OpNumber(1)) { Header = Header }, new PrepareOk(new OpNumber(1)) { Header = Header }));
        Assert.True(MessageEquality.Equal(new StartViewChange { Header = Header }, new StartViewChange { Header = Header }));
    }

    public static TheoryData<string> Differences() => new(DifferencesByField.Keys);

    private static Dictionary<string, (Message A, Message B)> BuildDifferences()
    {
        var data = new Dictionary<string, (Message A, Message B)>();
        var request = new Request(new ClientId(1), 2, RequestKind.Operation, [1]) { Header = Header };
        Add(data, "cluster", request, request with { Header = Header with { Cluster = 1 } });
        Add(data, "epoch", request, request with { Header = Header with { Epoch = 1 } });
        Add(data, "view", request, request with { Header = Header with { View = new View(4) } });
        Add(data, "replica", request, request with { Header = Header with { Replica = ReplicaIndex.None } });
        Add(data, "request client", request, request with { Client = new ClientId(2) });
        Add(data, "request number", request, request with { RequestNumber = 3 });
        Add(data, "request kind", request, request with { Kind = RequestKind.Register });

        var reply = new Reply(new ClientId(1), 2, ReplyStatus.Ok, new OpNumber(3), [1]) { Header = Header };
        Add(data, "reply client", reply, reply with { Client = new ClientId(2) });
        Add(data, "reply number", reply, reply with { RequestNumber = 1 });
        Add(data, "reply status", reply, reply with { Status = ReplyStatus.Busy });
        Add(data, "reply op", reply, reply with { Op = new OpNumber(4) });
        Add(data, "reply result", reply, reply with { Result = [2] });

        var prepare = new Prepare(new OpNumber(5), [Entry]) { Header = Header };
        Add(data, "prepare commit", prepare, prepare with { CommitNumber = new OpNumber(4) });
        Add(data, "prepare entries", prepare, prepare with { Entries = [] });
        Add(data, "entry op", prepare, prepare with { Entries = [Entry with { Op = new OpNumber(7) }] });
        Add(data, "entry view", prepare, prepare with { Entries = [Entry with { View = new View(1) }] });
        Add(data, "entry kind", prepare, prepare with { Entries = [Entry with { Kind = EntryKind.Register }] });
        Add(data, "entry client", prepare, prepare with { Entries = [Entry with { Client = new ClientId(1) }] });
        Add(data, "entry request", prepare, prepare with { Entries = [Entry with { RequestNumber = 5 }] });
        Add(data, "entry operation", prepare, prepare with { Entries = [Entry with { Operation = [1, 3] }] });
        Add(data, "entry prediction", prepare, prepare with { Entries = [Entry with { Prediction = [] }] });

        Add(data, "prepareok op", new PrepareOk(new OpNumber(1)) { Header = Header }, new PrepareOk(new OpNumber(2)) { Header = Header });
        var commit = new Commit(new OpNumber(1), new OpNumber(2)) { Header = Header };
        Add(data, "commit commit", commit, commit with { CommitNumber = new OpNumber(2) });
        Add(data, "commit op", commit, commit with { Op = new OpNumber(3) });

        var dvc = new DoViewChange(new View(2), new OpNumber(6), new OpNumber(5), [Entry]) { Header = Header };
        Add(data, "dvc log view", dvc, dvc with { LogView = new View(1) });
        Add(data, "dvc op", dvc, dvc with { Op = new OpNumber(7) });
        Add(data, "dvc commit", dvc, dvc with { CommitNumber = new OpNumber(4) });
        Add(data, "dvc entries", dvc, dvc with { Entries = [Entry, Entry] });

        var startView = new StartView(new OpNumber(6), new OpNumber(5), [Entry]) { Header = Header };
        Add(data, "sv op", startView, startView with { Op = new OpNumber(7) });
        Add(data, "sv commit", startView, startView with { CommitNumber = new OpNumber(4) });
        Add(data, "sv entries", startView, startView with { Entries = [] });

        Add(data, "recovery nonce", new Recovery(1) { Header = Header }, new Recovery(2) { Header = Header });
        var response = new RecoveryResponse(1, new OpNumber(6), new OpNumber(5), [Entry]) { Header = Header };
        Add(data, "rr nonce", response, response with { Nonce = 2 });
        Add(data, "rr op", response, response with { Op = new OpNumber(7) });
        Add(data, "rr commit", response, response with { CommitNumber = new OpNumber(4) });
        Add(data, "rr entries", response, response with { Entries = [] });

        Add(data, "getstate op", new GetState(new OpNumber(1)) { Header = Header }, new GetState(new OpNumber(2)) { Header = Header });
        var newState = new NewState(new OpNumber(6), new OpNumber(5), [Entry], new OpNumber(1), 2, 3) { Header = Header };
        Add(data, "ns op", newState, newState with { Op = new OpNumber(7) });
        Add(data, "ns commit", newState, newState with { CommitNumber = new OpNumber(4) });
        Add(data, "ns entries", newState, newState with { Entries = [] });
        Add(data, "ns checkpoint op", newState, newState with { CheckpointOp = new OpNumber(2) });
        Add(data, "ns checkpoint size", newState, newState with { CheckpointSize = 3 });
        Add(data, "ns checkpoint checksum", newState, newState with { CheckpointChecksum = 4 });

        var get = new GetCheckpoint(new OpNumber(1), 2) { Header = Header };
        Add(data, "gc op", get, get with { CheckpointOp = new OpNumber(2) });
        Add(data, "gc offset", get, get with { Offset = 3 });
        var chunk = new CheckpointChunk(new OpNumber(1), 2, 3, 4, [5]) { Header = Header };
        Add(data, "cc op", chunk, chunk with { CheckpointOp = new OpNumber(2) });
        Add(data, "cc total", chunk, chunk with { TotalSize = 3 });
        Add(data, "cc checksum", chunk, chunk with { Checksum = 4 });
        Add(data, "cc offset", chunk, chunk with { Offset = 5 });
        Add(data, "cc data", chunk, chunk with { Data = [6] });
        return data;

        static void Add(Dictionary<string, (Message A, Message B)> data, string name, Message a, Message b) => data.Add(name, (a, b));
    }

    [Theory]
    [MemberData(nameof(Differences))]
    public void Every_field_takes_part(string field)
    {
        var (a, b) = DifferencesByField[field];
        Assert.True(MessageEquality.Equal(a, a), field);
        Assert.True(MessageEquality.Equal(a, Copy(a)), field);
        Assert.False(MessageEquality.Equal(a, b), field);
        Assert.False(MessageEquality.Equal(b, a), field);
    }

    [Fact]
    public void Log_entries_compare_by_content()
    {
        var a = new StartView(new OpNumber(6), OpNumber.Zero, [Entry]) { Header = Header };
        Assert.True(MessageEquality.Equal(a, a with { Entries = [Entry with { Operation = [1, 2], Prediction = [3] }] }));
        Assert.False(MessageEquality.Equal(a, a with { Entries = [Entry with { Prediction = [4] }] }));
        Assert.False(MessageEquality.Equal(a, a with { Entries = [null!] }));
    }

    [Fact]
    public void Describe_renders_one_stable_line()
    {
        var entries = new[] { Entry, Entry with { Op = new OpNumber(7) }, Entry with { Op = new OpNumber(8) } };
        var client = new MessageHeader(Samples.Cluster, 0, new View(3), ReplicaIndex.None);
        var epoch = new MessageHeader(Samples.Cluster, 2, new View(4), new ReplicaIndex(1));

        Assert.Equal("Prepare v3 r0 commit=5 entries=[6..8]", MessageEquality.Describe(new Prepare(new OpNumber(5), entries) { Header = Header }));
        Assert.Equal("Prepare v3 r0 commit=5 entries=[6]", MessageEquality.Describe(new Prepare(new OpNumber(5), [Entry]) { Header = Header }));
        Assert.Equal("Prepare v3 r0 commit=5 entries=[]", MessageEquality.Describe(new Prepare(new OpNumber(5), []) { Header = Header }));
        Assert.Equal("Prepare v3 r0 commit=5 entries=[6..8 n=2]", MessageEquality.Describe(new Prepare(new OpNumber(5), [Entry, entries[2]]) { Header = Header }));
        Assert.Equal("Request v3 client c=ab n=4 Operation op=2B", MessageEquality.Describe(new Request(new ClientId(0xab), 4, RequestKind.Operation, [1, 2]) { Header = client }));
        Assert.Equal("Reply v3 r0 c=ab n=4 NotPrimary op=0 result=0B", MessageEquality.Describe(new Reply(new ClientId(0xab), 4, ReplyStatus.NotPrimary, OpNumber.Zero, []) { Header = Header }));
        Assert.Equal("PrepareOk v3 r0 op=8", MessageEquality.Describe(new PrepareOk(new OpNumber(8)) { Header = Header }));
        Assert.Equal("Commit v3 r0 commit=5 op=8", MessageEquality.Describe(new Commit(new OpNumber(5), new OpNumber(8)) { Header = Header }));
        Assert.Equal("StartViewChange v4 e2 r1", MessageEquality.Describe(new StartViewChange { Header = epoch }));
        Assert.Equal("DoViewChange v4 e2 r1 logView=3 op=8 commit=5 entries=[6..8]", MessageEquality.Describe(new DoViewChange(new View(3), new OpNumber(8), new OpNumber(5), entries) { Header = epoch }));
        Assert.Equal("StartView v4 e2 r1 op=8 commit=5 entries=[6..8]", MessageEquality.Describe(new StartView(new OpNumber(8), new OpNumber(5), entries) { Header = epoch }));
        Assert.Equal("Recovery v3 r0 nonce=ff", MessageEquality.Describe(new Recovery(255) { Header = Header }));
        Assert.Equal("RecoveryResponse v3 r0 nonce=ff op=8 commit=5 entries=[]", MessageEquality.Describe(new RecoveryResponse(255, new OpNumber(8), new OpNumber(5), []) { Header = Header }));
        Assert.Equal("GetState v3 r0 op=5", MessageEquality.Describe(new GetState(new OpNumber(5)) { Header = Header }));
        Assert.Equal(
            "NewState v3 r0 op=8 commit=5 entries=[] checkpoint=1024 size=4096 checksum=00000000deadbeef",
            MessageEquality.Describe(new NewState(new OpNumber(8), new OpNumber(5), [], new OpNumber(1024), 4096, 0xdeadbeef) { Header = Header }));
        Assert.Equal("GetCheckpoint v3 r0 checkpoint=1024 offset=65536", MessageEquality.Describe(new GetCheckpoint(new OpNumber(1024), 65536) { Header = Header }));
        Assert.Equal(
            "CheckpointChunk v3 r0 checkpoint=1024 offset=0 data=3B total=4096 checksum=0000000000000001",
            MessageEquality.Describe(new CheckpointChunk(new OpNumber(1024), 4096, 1, 0, [1, 2, 3]) { Header = Header }));
    }

    [Fact]
    public void Describe_is_one_line_for_every_random_message()
    {
        var prng = new Prng(11);
        for (var i = 0; i < 500; i++)
        {
            var message = Samples.Random(prng);
            var text = MessageEquality.Describe(message);
            Assert.StartsWith(message.Command.ToString(), text, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', text);
            Assert.Equal(text, MessageEquality.Describe(Copy(message)));
        }
    }

    private static Message Copy(Message message)
    {
        var codec = new MessageCodec(message.Header.Cluster);
        return codec.Decode(codec.Encode(message)).Message!;
    }
}
