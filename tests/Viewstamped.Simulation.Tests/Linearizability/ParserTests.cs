using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Tests.Linearizability;

public class ParserTests
{
    [Fact]
    public void Etcd_log_events_are_parsed_and_other_lines_ignored()
    {
        var text = string.Join(
            "\r\n",
            "INFO  jepsen.core - Running test",
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil",
            "INFO  jepsen.util - 0\t:ok\t:read\t3",
            "INFO  jepsen.util - :nemesis\t:info\t:start\tnil",
            "INFO  jepsen.util - 1\t:invoke\t:cas\t[3 4]",
            "INFO  jepsen.util - 1\t:fail\t:cas\t[3 4]",
            "INFO  jepsen.util - 2\t:invoke\t:write\t-7",
            "INFO  jepsen.util - 2\t:info\t:write\t:timed-out",
            string.Empty);

        var result = EtcdLogParser.Parse(text);

        Assert.True(result.Success, result.Error);
        Assert.Equal(
            [
                new HistoryEvent(0, HistoryEventType.Invoke, OperationKind.Read, string.Empty, null) { Line = 2 },
                new HistoryEvent(0, HistoryEventType.Ok, OperationKind.Read, string.Empty, "3") { Line = 3 },
                new HistoryEvent(1, HistoryEventType.Invoke, OperationKind.Cas, string.Empty, "4", "3") { Line = 5 },
                new HistoryEvent(1, HistoryEventType.Fail, OperationKind.Cas, string.Empty, "4", "3") { Line = 6 },
                new HistoryEvent(2, HistoryEventType.Invoke, OperationKind.Write, string.Empty, "-7") { Line = 7 },
                new HistoryEvent(2, HistoryEventType.Info, OperationKind.Write, string.Empty, null) { Line = 8 },
            ],
            result.Value);
    }

    [Theory]
    [InlineData("INFO  jepsen.util - 3\t:invoke\t:frob\tnil", ":frob")]
    [InlineData("INFO  jepsen.util - 3\t:begin\t:read\tnil", ":begin")]
    [InlineData("INFO  jepsen.util - 3\t:ok\t:read\tabc", "abc")]
    [InlineData("INFO  jepsen.util - 3\t:invoke\t:cas\t[1]", "[1]")]
    [InlineData("INFO  jepsen.util - 3\t:invoke\t:cas\t7", "7")]
    [InlineData("INFO  jepsen.util - 3\t:ok\t:read\t:timed-out", ":timed-out")]
    [InlineData("INFO  jepsen.util - 3\t:invoke\t:write", "missing value")]
    [InlineData("INFO  jepsen.util - 99999999999\t:invoke\t:write\t1", "99999999999")]
    public void Malformed_etcd_line_is_reported_with_its_number(string badLine, string mentioned)
    {
        var text = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nsome other output\n" + badLine + "\n";

        var result = EtcdLogParser.Parse(text);

        Assert.False(result.Success);
        Assert.Equal(3, result.Line);
        Assert.Contains(mentioned, result.Error, StringComparison.Ordinal);
        Assert.StartsWith("etcd.log line 3: ", result.Describe("etcd.log"), StringComparison.Ordinal);
    }

    [Fact]
    public void Edn_events_are_parsed()
    {
        var text = """
            {:process 0, :type :invoke, :f :get, :key "5", :value nil}
            {:process 0, :type :ok, :f :get, :key "5", :value ""}

            ; a comment
            {:process 1 :type :invoke :f :cas :key 7 :value [nil "b\"c"] :time 12}
            {:process :nemesis, :type :info, :f :start, :value nil}
            {:process 1, :type :fail, :f :cas, :key "7", :value :whatever}
            {:process 2, :type :invoke, :f :put, :key "k", :value 42}
            """;

        var result = EdnHistoryParser.Parse(text);

        Assert.True(result.Success, result.Describe("kv.edn"));
        Assert.Equal(
            [
                new HistoryEvent(0, HistoryEventType.Invoke, OperationKind.Read, "5", null) { Line = 1 },
                new HistoryEvent(0, HistoryEventType.Ok, OperationKind.Read, "5", string.Empty) { Line = 2 },
                new HistoryEvent(1, HistoryEventType.Invoke, OperationKind.Cas, "7", "b\"c", null) { Line = 5 },
                new HistoryEvent(1, HistoryEventType.Fail, OperationKind.Cas, "7", null) { Line = 7 },
                new HistoryEvent(2, HistoryEventType.Invoke, OperationKind.Write, "k", "42") { Line = 8 },
            ],
            result.Value);
    }

    [Theory]
    [InlineData("{:process 0, :type :invoke, :f :get, :key \"5\", :value nil", "not closed")]
    [InlineData("{:process 0, :type :invoke, :f :get, :value nil}", ":key")]
    [InlineData("{:process 0, :type :begin, :f :get, :key \"5\", :value nil}", ":begin")]
    [InlineData("{:process 0, :type :invoke, :f :frob, :key \"5\", :value nil}", ":frob")]
    [InlineData("{:process 0, :type :invoke, :f :cas, :key \"5\", :value \"x\"}", "[FROM TO]")]
    [InlineData("{:process 0, :type :invoke, :f :append, :key \"5\", :value nil}", "append")]
    [InlineData("{:process 0, :type :invoke, :f :get, :key \"5\", :value \"unterminated}", "not closed")]
    [InlineData("{:process 0, :type :invoke, :f :get, :key \"5\", :value nil} extra", "after the end")]
    [InlineData("[1 2]", "expected a map")]
    [InlineData("{:process 0, :process 1}", "twice")]
    [InlineData("{:process x}", "'x'")]
    public void Malformed_edn_line_is_reported_with_its_number(string badLine, string mentioned)
    {
        var text = "{:process 0, :type :invoke, :f :get, :key \"5\", :value nil}\n\n" + badLine + "\n";

        var result = EdnHistoryParser.Parse(text);

        Assert.False(result.Success);
        Assert.Equal(3, result.Line);
        Assert.Contains(mentioned, result.Error, StringComparison.Ordinal);
        Assert.StartsWith("kv.txt line 3: ", result.Describe("kv.txt"), StringComparison.Ordinal);
    }

    [Fact]
    public void Edn_writer_round_trips()
    {
        var events = new[]
        {
            new HistoryEvent(0, HistoryEventType.Invoke, OperationKind.Read, "a key", null),
            new HistoryEvent(0, HistoryEventType.Ok, OperationKind.Read, "a key", "line1\nline2\t\"q\" \\ \u0001"),
            new HistoryEvent(1, HistoryEventType.Invoke, OperationKind.Write, "k", "v"),
            new HistoryEvent(1, HistoryEventType.Info, OperationKind.Write, "k", "v"),
            new HistoryEvent(2, HistoryEventType.Invoke, OperationKind.Append, "k", "x"),
            new HistoryEvent(2, HistoryEventType.Ok, OperationKind.Append, "k", "x"),
            new HistoryEvent(3, HistoryEventType.Invoke, OperationKind.Cas, "k", "to", null),
            new HistoryEvent(3, HistoryEventType.Fail, OperationKind.Cas, "k", "to", null),
            new HistoryEvent(4, HistoryEventType.Invoke, OperationKind.Cas, "k", "to", "from"),
            new HistoryEvent(4, HistoryEventType.Ok, OperationKind.Cas, "k", "to", "from"),
        };
        using var writer = new StringWriter();

        EdnHistoryWriter.Write(writer, events);
        var result = EdnHistoryParser.Parse(writer.ToString());

        Assert.Equal("{:process 4, :type :invoke, :f :cas, :key \"k\", :value [\"from\" \"to\"]}", EdnHistoryWriter.Format(events[8]));
        Assert.Equal("{:process 3, :type :invoke, :f :cas, :key \"k\", :value [nil \"to\"]}", EdnHistoryWriter.Format(events[6]));
        Assert.True(result.Success, result.Describe("written"));
        Assert.Equal(events, result.Value.Select(e => e with { Line = 0 }));
    }

    [Fact]
    public void Completion_without_invocation_names_its_line()
    {
        var events = EdnHistoryParser.Parse("""
            {:process 0, :type :invoke, :f :get, :key "5", :value nil}
            {:process 1, :type :ok, :f :get, :key "5", :value nil}
            """).Value!;

        var result = History.ToOperations(events);

        Assert.False(result.Success);
        Assert.Equal(2, result.Line);
        Assert.Contains("never invoked", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Second_invocation_while_pending_names_both_lines()
    {
        var events = EdnHistoryParser.Parse("""
            {:process 0, :type :invoke, :f :put, :key "5", :value "a"}
            {:process 0, :type :invoke, :f :get, :key "5", :value nil}
            """).Value!;

        var result = History.ToOperations(events);

        Assert.False(result.Success);
        Assert.Equal(2, result.Line);
        Assert.Contains("line 1", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Completion_of_a_different_operation_is_an_error()
    {
        var events = EdnHistoryParser.Parse("""
            {:process 0, :type :invoke, :f :put, :key "5", :value "a"}
            {:process 0, :type :ok, :f :get, :key "5", :value "a"}
            """).Value!;

        var result = History.ToOperations(events);

        Assert.False(result.Success);
        Assert.Equal(2, result.Line);
    }

    [Fact]
    public void Operations_carry_times_and_outcomes()
    {
        var events = EtcdLogParser.Parse("""
            INFO  jepsen.util - 0	:invoke	:write	1
            INFO  jepsen.util - 1	:invoke	:read	nil
            INFO  jepsen.util - 0	:ok	:write	1
            INFO  jepsen.util - 1	:ok	:read	1
            INFO  jepsen.util - 2	:invoke	:cas	[1 2]
            INFO  jepsen.util - 3	:invoke	:write	5
            INFO  jepsen.util - 2	:info	:cas	:timed-out
            """).Value!;

        var operations = History.ToOperations(events).Value!;

        Assert.Collection(
            operations,
            op => Assert.Equal((0L, 2L, true, (string?)null, 1), (op.Call, op.Return, op.HasReturned, op.Output, op.Line)),
            op => Assert.Equal((1L, 3L, "1"), (op.Call, op.Return, op.Output)),
            op => Assert.Equal((4L, Operation.NeverReturned, new OperationInput(OperationKind.Cas, string.Empty, "2", "1")), (op.Call, op.Return, op.Input)),
            op => Assert.Equal((5L, Operation.NeverReturned, false), (op.Call, op.Return, op.HasReturned)));
    }
}
