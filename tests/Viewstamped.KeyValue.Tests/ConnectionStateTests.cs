using static Viewstamped.KeyValue.Tests.Text;

namespace Viewstamped.KeyValue.Tests;

public sealed class ConnectionStateTests
{
    private static CommandOutcome Process(ConnectionState connection, params string[] arguments) =>
        connection.Process(RespCommand.FromStrings(arguments));

    private static string Reply(ConnectionState connection, params string[] arguments)
    {
        var outcome = Process(connection, arguments);
        Assert.NotEqual(CommandAction.Replicate, outcome.Action);
        return Of(outcome.Reply);
    }

    [Fact]
    public void Classifies_commands()
    {
        Assert.Equal(CommandKind.ReplicatedRead, CommandClassifier.Classify(RespCommand.FromStrings("get", "k")));
        Assert.Equal(CommandKind.ReplicatedRead, CommandClassifier.Classify(RespCommand.FromStrings("MGET", "k")));
        Assert.Equal(CommandKind.ReplicatedRead, CommandClassifier.Classify(RespCommand.FromStrings("DbSize")));
        Assert.Equal(CommandKind.ReplicatedWrite, CommandClassifier.Classify(RespCommand.FromStrings("SET", "k", "v")));
        Assert.Equal(CommandKind.ReplicatedWrite, CommandClassifier.Classify(RespCommand.FromStrings("cas", "k", "v", "w")));
        Assert.Equal(CommandKind.ReplicatedWrite, CommandClassifier.Classify(RespCommand.FromStrings("GETDEL", "k")));
        Assert.Equal(CommandKind.Local, CommandClassifier.Classify(RespCommand.FromStrings("PING")));
        Assert.Equal(CommandKind.Local, CommandClassifier.Classify(RespCommand.FromStrings("client", "id")));
        Assert.Equal(CommandKind.Unknown, CommandClassifier.Classify(RespCommand.FromStrings("FLUSHALL")));
        Assert.Equal(CommandKind.Unknown, CommandClassifier.Classify(RespCommand.FromStrings("SUBSCRIBE", "x")));
        Assert.Equal(CommandKind.Unknown, CommandClassifier.Classify(new RespCommand([new byte[100]])));

        foreach (var spec in CommandClassifier.Commands.Where(s => s.IsReplicated))
        {
            Assert.Same(spec, CommandClassifier.SpecOf(spec.Code));
        }
    }

    [Fact]
    public void Replicated_commands_become_operations()
    {
        var connection = new ConnectionState(1);
        var outcome = Process(connection, "set", "k", "v");
        Assert.Equal(CommandAction.Replicate, outcome.Action);
        Assert.Equal(CommandKind.ReplicatedWrite, outcome.Kind);
        Assert.Equal(KeyValueOperation.Encode("SET", "k", "v"), outcome.Operation);
        Assert.Empty(outcome.Reply);
        Assert.Equal(CommandKind.ReplicatedRead, Process(connection, "GET", "k").Kind);

        // Errors that need no state are answered without going through the log.
        Assert.Equal(Err("ERR wrong number of arguments for 'get' command"), Reply(connection, "GET"));
        Assert.Equal(Err("ERR wrong number of arguments for 'mset' command"), Reply(connection, "MSET", "a", "1", "b"));
    }

    [Fact]
    public void Unknown_commands_as_redis_words_them()
    {
        var connection = new ConnectionState(1);
        Assert.Equal("-ERR unknown command 'FOO', with args beginning with: \r\n", Reply(connection, "FOO"));
        Assert.Equal("-ERR unknown command 'foo', with args beginning with: 'a' 'b c' \r\n", Reply(connection, "foo", "a", "b c"));
        Assert.Equal("-ERR unknown command 'x', with args beginning with: 'a  b' \r\n", Reply(connection, "x", "a\r\nb"));
        var longArgument = new string('z', 200);
        Assert.Equal(
            $"-ERR unknown command 'x', with args beginning with: '{new string('z', 128)}' \r\n",
            Reply(connection, "x", longArgument, "more"));
        Assert.Equal(
            $"-ERR unknown command 'x', with args beginning with: '{new string('z', 120)}' '{new string('z', 5)}' \r\n",
            Reply(connection, "x", new string('z', 120), new string('z', 10), "more"));
        Assert.Equal(CommandKind.Unknown, Process(connection, "FOO").Kind);
    }

    [Fact]
    public void Ping_echo_select_quit()
    {
        var connection = new ConnectionState(1);
        Assert.Equal("+PONG\r\n", Reply(connection, "PING"));
        Assert.Equal(Bulk("hi"), Reply(connection, "ping", "hi"));
        Assert.Equal(Err("ERR wrong number of arguments for 'ping' command"), Reply(connection, "PING", "a", "b"));
        Assert.Equal(Bulk("hello"), Reply(connection, "ECHO", "hello"));
        Assert.Equal(Err("ERR wrong number of arguments for 'echo' command"), Reply(connection, "ECHO"));
        Assert.Equal(Ok, Reply(connection, "SELECT", "0"));
        Assert.Equal(Err("ERR DB index is out of range"), Reply(connection, "SELECT", "1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Reply(connection, "SELECT", "x"));

        var quit = Process(connection, "QUIT");
        Assert.Equal(CommandAction.ReplyAndClose, quit.Action);
        Assert.Equal(Ok, Of(quit.Reply));
        Assert.True(connection.Closing);
    }

    [Fact]
    public void Auth_without_a_password_configured()
    {
        var connection = new ConnectionState(1);
        Assert.True(connection.Authenticated);
        Assert.Equal(
            Err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"),
            Reply(connection, "AUTH", "x"));
        Assert.Equal(Ok, Reply(connection, "AUTH", "default", "anything"));
        Assert.Equal(Err("WRONGPASS invalid username-password pair or user is disabled."), Reply(connection, "AUTH", "bob", "x"));
        Assert.Equal(Err("ERR syntax error"), Reply(connection, "AUTH", "a", "b", "c"));
        Assert.Equal(Err("ERR wrong number of arguments for 'auth' command"), Reply(connection, "AUTH"));
    }

    [Fact]
    public void Requirepass_gates_everything_but_auth_hello_and_quit()
    {
        var connection = new ConnectionState(7, new ConnectionOptions { RequirePass = "s3cret" });
        Assert.False(connection.Authenticated);
        Assert.Same(RespReaderOptions.Unauthenticated, connection.ReaderOptions(new RespReaderOptions()));
        Assert.Equal(Err("NOAUTH Authentication required."), Reply(connection, "GET", "k"));
        Assert.Equal(Err("NOAUTH Authentication required."), Reply(connection, "PING"));
        Assert.Equal(Err("NOAUTH Authentication required."), Reply(connection, "CLIENT", "SETNAME", "x"));
        Assert.StartsWith("-ERR unknown command 'FOO'", Reply(connection, "FOO"));
        Assert.Equal(Err("WRONGPASS invalid username-password pair or user is disabled."), Reply(connection, "AUTH", "wrong"));
        Assert.Equal(Err("WRONGPASS invalid username-password pair or user is disabled."), Reply(connection, "AUTH", "other", "s3cret"));
        Assert.False(connection.Authenticated);
        Assert.StartsWith("-NOAUTH HELLO must be called with the client already authenticated", Reply(connection, "HELLO", "2"));
        Assert.Equal(Ok, Reply(connection, "AUTH", "s3cret"));
        Assert.True(connection.Authenticated);
        Assert.Equal(CommandAction.Replicate, Process(connection, "GET", "k").Action);
        var limits = new RespReaderOptions();
        Assert.Same(limits, connection.ReaderOptions(limits));

        // A failed AUTH later does not log the client out.
        Reply(connection, "AUTH", "wrong");
        Assert.True(connection.Authenticated);

        var other = new ConnectionState(8, new ConnectionOptions { RequirePass = "s3cret" });
        Assert.Equal(CommandAction.ReplyAndClose, Process(other, "QUIT").Action);
        Assert.Equal(Ok, Reply(new ConnectionState(9, new ConnectionOptions { RequirePass = "s3cret" }), "AUTH", "default", "s3cret"));
    }

    [Fact]
    public void Hello_speaks_resp2_only()
    {
        var info = new ServerInfo { IsPrimary = false };
        var connection = new ConnectionState(42, new ConnectionOptions { RequirePass = "pw", Info = () => info });
        var expected =
            "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:42\r\n" +
            "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
        Assert.Equal(Err("NOPROTO unsupported protocol version"), Reply(connection, "HELLO", "3"));
        Assert.Equal(Err("NOPROTO unsupported protocol version"), Reply(connection, "HELLO", "1"));
        Assert.Equal(Err("ERR Protocol version is not an integer or out of range"), Reply(connection, "HELLO", "x"));
        Assert.Equal(Err("ERR Syntax error in HELLO option 'FOO'"), Reply(connection, "HELLO", "2", "FOO"));
        Assert.Equal(Err("ERR Syntax error in HELLO option 'AUTH'"), Reply(connection, "HELLO", "2", "AUTH", "default"));
        Assert.Equal(Err("WRONGPASS invalid username-password pair or user is disabled."), Reply(connection, "HELLO", "2", "AUTH", "default", "no"));
        Assert.Equal(expected, Reply(connection, "HELLO", "2", "AUTH", "default", "pw", "SETNAME", "app"));
        Assert.True(connection.Authenticated);
        Assert.Equal("app", connection.Name);
        Assert.Equal(expected, Reply(connection, "HELLO"));
        Assert.Equal(Err("ERR Client names cannot contain spaces, newlines or special characters."), Reply(connection, "HELLO", "2", "SETNAME", "a b"));
    }

    [Fact]
    public void Client_subcommands()
    {
        var connection = new ConnectionState(5, remoteAddress: "127.0.0.1:5555");
        Assert.Equal(Int(5), Reply(connection, "CLIENT", "ID"));
        Assert.Equal(Nil, Reply(connection, "CLIENT", "GETNAME"));
        Assert.Equal(Ok, Reply(connection, "client", "setname", "worker-1"));
        Assert.Equal(Bulk("worker-1"), Reply(connection, "CLIENT", "GETNAME"));
        Assert.Equal(Err("ERR Client names cannot contain spaces, newlines or special characters."), Reply(connection, "CLIENT", "SETNAME", "a b"));
        Assert.Equal(Err("ERR Client names cannot contain spaces, newlines or special characters."), Reply(connection, "CLIENT", "SETNAME", "é"));
        Assert.Equal(Ok, Reply(connection, "CLIENT", "SETNAME", ""));
        Assert.Null(connection.Name);
        Assert.Equal(Err("ERR wrong number of arguments for 'client|setname' command"), Reply(connection, "CLIENT", "SETNAME"));
        Assert.Equal(Err("ERR wrong number of arguments for 'client|id' command"), Reply(connection, "CLIENT", "ID", "x"));
        Assert.Equal(Ok, Reply(connection, "CLIENT", "SETINFO", "LIB-NAME", "SE.Redis"));
        Assert.Equal(Ok, Reply(connection, "CLIENT", "SETINFO", "lib-ver", "2.8.0"));
        Assert.Equal(Err("ERR Unrecognized option 'X'"), Reply(connection, "CLIENT", "SETINFO", "X", "y"));
        Assert.Equal("SE.Redis", connection.LibraryName);
        Assert.Equal("2.8.0", connection.LibraryVersion);
        Assert.Equal(Bulk("id=5 addr=127.0.0.1:5555 name= db=0 lib-name=SE.Redis lib-ver=2.8.0\n"), Reply(connection, "CLIENT", "INFO"));
        Assert.Equal(Err("ERR unknown subcommand 'KILL'. Try CLIENT HELP."), Reply(connection, "CLIENT", "KILL"));
        Assert.StartsWith("*15\r\n+CLIENT <subcommand>", Reply(connection, "CLIENT", "HELP"));
        Assert.Equal(Err("ERR wrong number of arguments for 'client' command"), Reply(connection, "CLIENT"));
    }

    [Fact]
    public void Command_answers_enough_for_client_handshakes()
    {
        var connection = new ConnectionState(1);
        Assert.Equal(Int(CommandClassifier.Commands.Count), Reply(connection, "COMMAND", "COUNT"));
        Assert.Equal("*0\r\n", Reply(connection, "COMMAND", "DOCS"));
        Assert.Equal("*0\r\n", Reply(connection, "COMMAND", "DOCS", "get"));
        Assert.Equal(
            "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*0\r\n*0\r\n*0\r\n*0\r\n$-1\r\n",
            Reply(connection, "COMMAND", "INFO", "GET", "nope"));
        Assert.StartsWith($"*{CommandClassifier.Commands.Count}\r\n*10\r\n$3\r\nget\r\n", Reply(connection, "COMMAND"));
        Assert.Contains("$3\r\ncas\r\n", Reply(connection, "COMMAND", "LIST"));
        Assert.Equal(Err("ERR unknown subcommand 'NOPE'. Try COMMAND HELP."), Reply(connection, "COMMAND", "NOPE"));
        Assert.Equal("*2\r\n$4\r\nsave\r\n$0\r\n\r\n", Reply(connection, "CONFIG", "GET", "save"));
        Assert.Equal("*4\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n$11\r\nappendfsync\r\n$6\r\nalways\r\n", Reply(connection, "CONFIG", "GET", "APPEND*"));
        Assert.Equal("*4\r\n$4\r\nsave\r\n$0\r\n\r\n$9\r\ndatabases\r\n$1\r\n1\r\n", Reply(connection, "CONFIG", "GET", "databases", "sav?"));
        Assert.Equal("*0\r\n", Reply(connection, "CONFIG", "GET", "nosuch"));
        Assert.Equal(Err("ERR unknown subcommand 'SET'. Try CONFIG HELP."), Reply(connection, "CONFIG", "SET", "a", "b"));
    }

    [Fact]
    public void Info_and_role_show_the_replication_state()
    {
        var info = new ServerInfo
        {
            IsPrimary = false,
            Status = "normal",
            ReplicaIndex = 2,
            ReplicaCount = 3,
            PrimaryIndex = 1,
            PrimaryHost = "10.0.0.1",
            PrimaryPort = 6380,
            View = 4,
            Op = 1000,
            Commit = 998,
            Checkpoint = 512,
            Keys = 10,
            Expires = 3,
            ConnectedClients = 2,
            TcpPort = 6379,
        };
        var connection = new ConnectionState(1, new ConnectionOptions { Info = () => info });
        var replication = Reply(connection, "INFO", "replication");
        Assert.Equal(
            Bulk("# Replication\r\nrole:master\r\nconnected_slaves:0\r\nvr_role:backup\r\n" +
                 "vr_status:normal\r\nvr_replica:2\r\nvr_replica_count:3\r\nvr_primary:1\r\nvr_primary_endpoint:10.0.0.1:6380\r\nvr_view:4\r\nvr_op:1000\r\nvr_commit:998\r\nvr_checkpoint:512\r\n"),
            replication);

        var all = InfoFormatter.Format(info);
        Assert.StartsWith("# Server\r\nredis_version:7.2.0\r\nredis_mode:standalone\r\n", all);
        Assert.Contains("\r\n\r\n# Clients\r\nconnected_clients:2\r\n\r\n# Memory\r\n\r\n# Replication\r\n", all); // no memory given
        Assert.EndsWith("# Keyspace\r\ndb0:keys=10,expires=3,avg_ttl=0\r\n", all);
        Assert.Equal(all, InfoFormatter.Format(info, ["ALL"]));
        Assert.Equal(InfoFormatter.Format(info, ["server", "keyspace"]), InfoFormatter.Format(info, ["Keyspace", "SERVER", "nope"]));
        Assert.Equal(string.Empty, InfoFormatter.Format(info, ["nope"]));
        Assert.Contains("role:master\r\nconnected_slaves:0\r\nvr_role:primary\r\n", InfoFormatter.Format(new ServerInfo(), ["replication"]));

        // Every endpoint takes writes, so every endpoint is a master to Redis clients.
        Assert.Equal("*3\r\n$6\r\nmaster\r\n:1000\r\n*0\r\n", Reply(connection, "ROLE"));
        var primary = new ConnectionState(1, new ConnectionOptions { Info = () => info with { IsPrimary = true } });
        Assert.Equal("*3\r\n$6\r\nmaster\r\n:1000\r\n*0\r\n", Reply(primary, "ROLE"));
    }

    [Fact]
    public void Info_memory_shows_the_heap_the_process_and_the_collector()
    {
        var info = new ServerInfo
        {
            Memory = new MemoryInfo
            {
                Used = 200 << 20,
                Rss = 300 << 20,
                UsedPeak = 250 << 20,
                RssPeak = 350 << 20,
                Dataset = 123_456_789,
                GcMode = "workstation",
                GcHeapSize = 190 << 20,
                GcCommitted = 260 << 20,
                GcFragmented = 5 << 20,
                GcGenerationSizes = [0, 1000, 150 << 20, 30 << 20, 24_000],
                GcCollections = [50, 20, 7],
                GcPauseTimePercentage = 1.5,
            },
        };
        var connection = new ConnectionState(1, new ConnectionOptions { Info = () => info });
        Assert.Equal(
            Bulk("# Memory\r\n" +
                 "used_memory:209715200\r\nused_memory_human:200.00M\r\n" +
                 "used_memory_rss:314572800\r\nused_memory_rss_human:300.00M\r\n" +
                 "used_memory_peak:262144000\r\nused_memory_peak_human:250.00M\r\n" +
                 "used_memory_rss_peak:367001600\r\nused_memory_rss_peak_human:350.00M\r\n" +
                 "used_memory_dataset:123456789\r\nused_memory_dataset_human:117.74M\r\n" +
                 "mem_fragmentation_ratio:1.50\r\nmem_allocator:dotnet-gc\r\ngc_mode:workstation\r\n" +
                 "gc_heap_size:199229440\r\ngc_committed:272629760\r\ngc_fragmented:5242880\r\n" +
                 "gc_gen0_size:0\r\ngc_gen1_size:1000\r\ngc_gen2_size:157286400\r\ngc_loh_size:31457280\r\ngc_poh_size:24000\r\n" +
                 "gc_gen0_collections:50\r\ngc_gen1_collections:20\r\ngc_gen2_collections:7\r\n" +
                 "gc_pause_time_percentage:1.50\r\n"),
            Reply(connection, "INFO", "memory"));
        Assert.Contains("# Clients\r\nconnected_clients:0\r\n\r\n# Memory\r\nused_memory:209715200\r\n", InfoFormatter.Format(info));
    }

    [Theory]
    [InlineData(0, "0B")]
    [InlineData(1023, "1023B")]
    [InlineData(1024, "1.00K")]
    [InlineData(1536, "1.50K")]
    [InlineData(1_048_576, "1.00M")]
    [InlineData(3_221_225_472, "3.00G")]
    public void Memory_sizes_read_as_redis_writes_them(long bytes, string human) => Assert.Equal(human, InfoFormatter.Human(bytes));
}
