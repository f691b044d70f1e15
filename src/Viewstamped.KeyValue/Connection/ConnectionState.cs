using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>
/// One client connection's state and its local commands, as a pure class a server calls for every
/// command it reads: <see cref="Process"/> answers PING, ECHO, HELLO 2, AUTH, CLIENT, SELECT 0,
/// QUIT, COMMAND, INFO, CONFIG GET and ROLE itself, rejects unknown commands and wrong argument
/// counts, enforces AUTH when a password is required, and turns every key-value command into the
/// operation to replicate.
/// </summary>
public sealed class ConnectionState
{
    private readonly ConnectionOptions options;
    private readonly byte[]? passwordHash;
    private CommandSpec? lastReplicated; // pipelines repeat a command: its name is compared before any lookup

    /// <summary>A new connection; the server picks unique ids (CLIENT ID).</summary>
    public ConnectionState(long id, ConnectionOptions? options = null, string? remoteAddress = null)
    {
        Id = id;
        this.options = options ?? new ConnectionOptions();
        RemoteAddress = remoteAddress;
        if (this.options.RequirePass is { } password)
        {
            passwordHash = SHA256.HashData(Encoding.UTF8.GetBytes(password));
        }

        Authenticated = passwordHash is null;
    }

    /// <summary>The connection id (CLIENT ID).</summary>
    public long Id { get; }

    /// <summary>The peer's address, as CLIENT INFO shows it.</summary>
    public string? RemoteAddress { get; }

    /// <summary>The name set by CLIENT SETNAME or HELLO SETNAME; null when none.</summary>
    public string? Name { get; private set; }

    /// <summary>The client library's name (CLIENT SETINFO LIB-NAME).</summary>
    public string? LibraryName { get; private set; }

    /// <summary>The client library's version (CLIENT SETINFO LIB-VER).</summary>
    public string? LibraryVersion { get; private set; }

    /// <summary>True once the client gave the password, or always when none is required.</summary>
    public bool Authenticated { get; private set; }

    /// <summary>True when a password is configured.</summary>
    public bool PasswordRequired => passwordHash is not null;

    /// <summary>True after QUIT: the server closes the connection once the reply is sent.</summary>
    public bool Closing { get; private set; }

    /// <summary>
    /// The limits to read this connection's requests with: <paramref name="authenticated"/>, or
    /// <see cref="RespReaderOptions.Unauthenticated"/> until the client has authenticated.
    /// </summary>
    public RespReaderOptions ReaderOptions(RespReaderOptions authenticated) =>
        Authenticated ? authenticated : RespReaderOptions.Unauthenticated;

    /// <summary>Decides what to do with one command: reply now, reply and close, or replicate.</summary>
    public CommandOutcome Process(RespCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!CommandClassifier.TryGetSpec(command[0], out var spec))
        {
            return CommandOutcome.Answer(CommandClassifier.UnknownCommandReply(command), CommandKind.Unknown);
        }

        if (!spec.AcceptsArgumentCount(command.Count))
        {
            return CommandOutcome.Answer(Resp.Error(spec.ArityError), spec.Kind);
        }

        if (!Authenticated && !spec.Flags.Contains("no_auth"))
        {
            return CommandOutcome.Answer(Resp.Error("NOAUTH Authentication required."), spec.Kind);
        }

        if (spec.IsReplicated)
        {
            return CommandOutcome.Replicate(KeyValueOperation.Encode(command), spec.Kind);
        }

        if (spec.Name == "quit")
        {
            Closing = true;
            return CommandOutcome.AnswerAndClose(Resp.Ok.ToArray());
        }

        return CommandOutcome.Answer(spec.Name switch
        {
            "ping" => Ping(command),
            "echo" => Resp.BulkString(command[1]),
            "select" => Select(command),
            "auth" => Auth(command),
            "hello" => Hello(command),
            "client" => Client(command),
            "command" => Command(command),
            "info" => Info(command),
            "config" => Config(command),
            "role" => Role(),
            _ => CommandClassifier.UnknownCommandReply(command),
        });
    }

    /// <summary>
    /// The fast path of <see cref="Process"/> for a command read in place (<see cref="RespReader.TryReadWhole"/>):
    /// true, with its operation code, when the command whose <paramref name="arguments"/> are ranges of
    /// <paramref name="request"/> (the name first) is to be replicated — known, replicated, the right
    /// number of arguments, and the connection authenticated. False for everything else, which
    /// <see cref="Process"/> then answers.
    /// </summary>
    public bool TryGetReplicated(ReadOnlySpan<byte> request, ReadOnlySpan<Range> arguments, out CommandCode code)
    {
        code = CommandCode.None;
        if (arguments.IsEmpty || !Authenticated)
        {
            return false;
        }

        var name = request[arguments[0]];
        var spec = lastReplicated is { } last && Ascii.EqualsIgnoreCase(name, last.Name) ? last : null;
        if (spec is null)
        {
            if (!CommandClassifier.TryGetSpec(name, out spec) || !spec.IsReplicated)
            {
                return false;
            }

            lastReplicated = spec;
        }

        if (!spec.AcceptsArgumentCount(arguments.Length))
        {
            return false;
        }

        code = spec.Code;
        return true;
    }

    private static byte[] Ping(RespCommand command) => command.Count switch
    {
        1 => Resp.Pong.ToArray(),
        2 => Resp.BulkString(command[1]),
        _ => Resp.Error("ERR wrong number of arguments for 'ping' command"),
    };

    private static byte[] Select(RespCommand command)
    {
        if (!RespInteger.TryParse(command[1], out var index))
        {
            return Resp.Error("ERR value is not an integer or out of range");
        }

        return index == 0 ? Resp.Ok.ToArray() : Resp.Error("ERR DB index is out of range");
    }

    private byte[] Auth(RespCommand command)
    {
        if (command.Count > 3)
        {
            return Resp.Error("ERR syntax error");
        }

        if (passwordHash is null && command.Count == 2)
        {
            return Resp.Error(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
        }

        var user = command.Count == 3 ? command[1] : "default"u8;
        var password = command[command.Count - 1];
        return TryAuthenticate(user, password) ? Resp.Ok.ToArray() : WrongPass();
    }

    /// <summary>Only the user <c>default</c> exists; without a password configured it takes any.</summary>
    private bool TryAuthenticate(ReadOnlySpan<byte> user, ReadOnlySpan<byte> password)
    {
        var userOk = user.SequenceEqual("default"u8);
        var passwordOk = passwordHash is null || CryptographicOperations.FixedTimeEquals(SHA256.HashData(password), passwordHash);
        if (userOk && passwordOk)
        {
            Authenticated = true;
            return true;
        }

        return false;
    }

    private static byte[] WrongPass() => Resp.Error("WRONGPASS invalid username-password pair or user is disabled.");

    private byte[] Hello(RespCommand command)
    {
        var next = 1;
        if (command.Count >= 2)
        {
            if (!RespInteger.TryParse(command[1], out var version))
            {
                return Resp.Error("ERR Protocol version is not an integer or out of range");
            }

            // RESP2 only: a client asking for 3 gets NOPROTO and stays on 2, as with Redis 5.
            if (version != 2)
            {
                return Resp.Error("NOPROTO unsupported protocol version");
            }

            next = 2;
        }

        int user = 0, name = 0;
        for (var j = next; j < command.Count; j++)
        {
            var more = command.Count - 1 - j;
            if (Ascii.EqualsIgnoreCase(command[j], "AUTH"u8) && more >= 2)
            {
                user = j + 1;
                j += 2;
            }
            else if (Ascii.EqualsIgnoreCase(command[j], "SETNAME"u8) && more >= 1)
            {
                name = j + 1;
                j++;
            }
            else
            {
                return Resp.Error($"ERR Syntax error in HELLO option '{Encoding.Latin1.GetString(command[j])}'");
            }
        }

        if (user > 0 && !TryAuthenticate(command[user], command[user + 1]))
        {
            return WrongPass();
        }

        if (!Authenticated)
        {
            return Resp.Error(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        }

        if (name > 0 && !TrySetName(command[name]))
        {
            return InvalidName();
        }

        var info = options.Info();
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(14);
        writer.WriteBulkString("server"u8);
        writer.WriteBulkString("redis"u8);
        writer.WriteBulkString("version"u8);
        writer.WriteBulkString(info.RedisVersion);
        writer.WriteBulkString("proto"u8);
        writer.WriteInteger(2);
        writer.WriteBulkString("id"u8);
        writer.WriteInteger(Id);
        writer.WriteBulkString("mode"u8);
        writer.WriteBulkString("standalone"u8);
        writer.WriteBulkString("role"u8);
        writer.WriteBulkString("master"u8); // every endpoint takes writes: see InfoFormatter
        writer.WriteBulkString("modules"u8);
        writer.WriteArrayHeader(0);
        return buffer.WrittenSpan.ToArray();
    }

    private byte[] Client(RespCommand command)
    {
        var sub = command[1];
        if (Ascii.EqualsIgnoreCase(sub, "ID"u8))
        {
            return command.Count == 2 ? Resp.Integer(Id) : SubcommandArity("client|id");
        }

        if (Ascii.EqualsIgnoreCase(sub, "SETNAME"u8))
        {
            return command.Count != 3 ? SubcommandArity("client|setname")
                : TrySetName(command[2]) ? Resp.Ok.ToArray()
                : InvalidName();
        }

        if (Ascii.EqualsIgnoreCase(sub, "GETNAME"u8))
        {
            return command.Count != 2 ? SubcommandArity("client|getname")
                : Name is null ? Resp.NullBulkString.ToArray()
                : Resp.BulkString(Name);
        }

        if (Ascii.EqualsIgnoreCase(sub, "SETINFO"u8))
        {
            return command.Count == 4 ? SetInfo(command[2], command[3]) : SubcommandArity("client|setinfo");
        }

        if (Ascii.EqualsIgnoreCase(sub, "INFO"u8))
        {
            return command.Count == 2 ? Resp.BulkString(ClientLine() + "\n") : SubcommandArity("client|info");
        }

        if (Ascii.EqualsIgnoreCase(sub, "LIST"u8))
        {
            return Resp.BulkString(ClientLine() + "\n");
        }

        if (Ascii.EqualsIgnoreCase(sub, "HELP"u8))
        {
            return Help(
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "LIST",
                "    Return information about the current client connection.",
                "SETINFO <option> <value>",
                "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "HELP",
                "    Print this help.");
        }

        return CommandClassifier.UnknownSubcommandReply("client", sub);
    }

    private byte[] SetInfo(ReadOnlySpan<byte> attribute, ReadOnlySpan<byte> value)
    {
        var isName = Ascii.EqualsIgnoreCase(attribute, "LIB-NAME"u8);
        if (!isName && !Ascii.EqualsIgnoreCase(attribute, "LIB-VER"u8))
        {
            return Resp.Error($"ERR Unrecognized option '{Encoding.Latin1.GetString(attribute)}'");
        }

        if (!IsValidName(value))
        {
            return Resp.Error($"ERR {(isName ? "lib-name" : "lib-ver")} cannot contain spaces, newlines or special characters.");
        }

        var text = value.IsEmpty ? null : Encoding.ASCII.GetString(value);
        if (isName)
        {
            LibraryName = text;
        }
        else
        {
            LibraryVersion = text;
        }

        return Resp.Ok.ToArray();
    }

    private string ClientLine() =>
        $"id={Id} addr={RemoteAddress ?? "?"} name={Name} db=0 lib-name={LibraryName} lib-ver={LibraryVersion}";

    private bool TrySetName(ReadOnlySpan<byte> name)
    {
        if (!IsValidName(name))
        {
            return false;
        }

        Name = name.IsEmpty ? null : Encoding.ASCII.GetString(name);
        return true;
    }

    /// <summary>Redis accepts names of printable ASCII without spaces ('!' to '~').</summary>
    private static bool IsValidName(ReadOnlySpan<byte> name) => !name.ContainsAnyExceptInRange((byte)'!', (byte)'~');

    private static byte[] InvalidName() => Resp.Error("ERR Client names cannot contain spaces, newlines or special characters.");

    private static byte[] SubcommandArity(string fullName) => Resp.Error($"ERR wrong number of arguments for '{fullName}' command");

    private static byte[] Command(RespCommand command)
    {
        if (command.Count == 1)
        {
            return CommandInfos(CommandClassifier.Commands);
        }

        var sub = command[1];
        if (Ascii.EqualsIgnoreCase(sub, "COUNT"u8))
        {
            return command.Count == 2 ? Resp.Integer(CommandClassifier.Commands.Count) : SubcommandArity("command|count");
        }

        if (Ascii.EqualsIgnoreCase(sub, "INFO"u8))
        {
            if (command.Count == 2)
            {
                return CommandInfos(CommandClassifier.Commands);
            }

            var specs = new List<CommandSpec?>();
            for (var i = 2; i < command.Count; i++)
            {
                specs.Add(CommandClassifier.TryGetSpec(command[i], out var spec) ? spec : null);
            }

            return CommandInfos(specs);
        }

        if (Ascii.EqualsIgnoreCase(sub, "DOCS"u8))
        {
            // An empty map: clients (redis-cli) then show no hints.
            return Resp.EmptyArray.ToArray();
        }

        if (Ascii.EqualsIgnoreCase(sub, "LIST"u8))
        {
            return Resp.Array(CommandClassifier.Commands.Select(spec => (byte[]?)Encoding.ASCII.GetBytes(spec.Name)).ToList());
        }

        if (Ascii.EqualsIgnoreCase(sub, "HELP"u8))
        {
            return Help(
                "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "(no subcommand)",
                "    Return details about all commands.",
                "COUNT",
                "    Return the total number of commands in this server.",
                "LIST",
                "    Return a list of all commands in this server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple commands.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple commands (none here).",
                "HELP",
                "    Print this help.");
        }

        return CommandClassifier.UnknownSubcommandReply("command", sub);
    }

    /// <summary>COMMAND INFO entries in Redis 7's ten-element form; an unknown name gives a null.</summary>
    private static byte[] CommandInfos(IReadOnlyList<CommandSpec?> specs)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(specs.Count);
        foreach (var spec in specs)
        {
            if (spec is null)
            {
                writer.WriteNullBulkString();
                continue;
            }

            writer.WriteArrayHeader(10);
            writer.WriteBulkString(spec.Name);
            writer.WriteInteger(spec.Arity);
            writer.WriteArrayHeader(spec.Flags.Count);
            foreach (var flag in spec.Flags)
            {
                writer.WriteSimpleString(flag);
            }

            writer.WriteInteger(spec.FirstKey);
            writer.WriteInteger(spec.LastKey);
            writer.WriteInteger(spec.KeyStep);
            writer.WriteArrayHeader(0); // ACL categories
            writer.WriteArrayHeader(0); // tips
            writer.WriteArrayHeader(0); // key specifications
            writer.WriteArrayHeader(0); // subcommands
        }

        return buffer.WrittenSpan.ToArray();
    }

    private byte[] Info(RespCommand command)
    {
        var sections = new List<string>();
        for (var i = 1; i < command.Count; i++)
        {
            sections.Add(Encoding.Latin1.GetString(command[i]));
        }

        return Resp.BulkString(InfoFormatter.Format(options.Info(), sections));
    }

    /// <summary>
    /// The settings CONFIG GET shows, as a Redis with this server's behaviour would: every write is
    /// on disk before it is acknowledged (appendonly, appendfsync always), one database, no
    /// snapshots by schedule. Clients read these at connect (redis-benchmark: save, appendonly;
    /// StackExchange.Redis: databases, timeout); nothing can be changed.
    /// </summary>
    private static readonly (string Name, string Value)[] Settings =
    [
        ("save", string.Empty),
        ("appendonly", "yes"),
        ("appendfsync", "always"),
        ("databases", "1"),
        ("timeout", "0"),
        ("maxmemory", "0"),
        ("replica-read-only", "yes"),
        ("slave-read-only", "yes"),
    ];

    private static byte[] Config(RespCommand command)
    {
        var sub = command[1];
        if (Ascii.EqualsIgnoreCase(sub, "GET"u8))
        {
            if (command.Count < 3)
            {
                return SubcommandArity("config|get");
            }

            var found = new List<byte[]?>();
            foreach (var (name, value) in Settings)
            {
                for (var i = 2; i < command.Count; i++)
                {
                    if (GlobMatches(command[i], Encoding.ASCII.GetBytes(name)))
                    {
                        found.Add(Encoding.ASCII.GetBytes(name));
                        found.Add(Encoding.ASCII.GetBytes(value));
                        break;
                    }
                }
            }

            return Resp.Array(found);
        }

        return CommandClassifier.UnknownSubcommandReply("config", sub);
    }

    /// <summary>Redis's glob for CONFIG GET: <c>*</c>, <c>?</c>, any case.</summary>
    private static bool GlobMatches(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        if (pattern.IsEmpty)
        {
            return text.IsEmpty;
        }

        if (pattern[0] == '*')
        {
            for (var skip = 0; skip <= text.Length; skip++)
            {
                if (GlobMatches(pattern[1..], text[skip..]))
                {
                    return true;
                }
            }

            return false;
        }

        return !text.IsEmpty && (pattern[0] == '?' || char.ToLowerInvariant((char)pattern[0]) == (char)text[0])
            && GlobMatches(pattern[1..], text[1..]);
    }

    /// <summary>ROLE: <c>master</c> on every endpoint, since every endpoint takes writes (a backup forwards them).</summary>
    private byte[] Role()
    {
        var info = options.Info();
        var buffer = new ArrayBufferWriter<byte>(64);
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(3);
        writer.WriteBulkString("master"u8);
        writer.WriteInteger((long)Math.Min(info.Op, long.MaxValue));
        writer.WriteArrayHeader(0);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Help(params string[] lines)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        var writer = new RespWriter(buffer);
        writer.WriteArrayHeader(lines.Length);
        foreach (var line in lines)
        {
            writer.WriteSimpleString(line);
        }

        return buffer.WrittenSpan.ToArray();
    }
}
