using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>
/// The command table: which commands go through the log (writes and linearizable reads), which the
/// connection answers itself, and which are unknown. Names match case-insensitively.
/// </summary>
public static class CommandClassifier
{
    private static readonly string[] Write = ["write", "denyoom"];
    private static readonly string[] WriteFast = ["write", "fast"];
    private static readonly string[] WriteDenyFast = ["write", "denyoom", "fast"];
    private static readonly string[] ReadFast = ["readonly", "fast"];
    private static readonly string[] Connection = ["fast", "stale", "loading"];
    private static readonly string[] Admin = ["noscript", "loading", "stale"];
    private static readonly string[] NoAuth = ["noscript", "loading", "stale", "fast", "no_auth"];

    private static readonly CommandSpec[] Specs =
    [
        new("get", CommandKind.ReplicatedRead, 2, CommandCode.Get, ReadFast, 1, 1, 1),
        new("set", CommandKind.ReplicatedWrite, -3, CommandCode.Set, Write, 1, 1, 1),
        new("del", CommandKind.ReplicatedWrite, -2, CommandCode.Del, ["write"], 1, -1, 1),
        new("exists", CommandKind.ReplicatedRead, -2, CommandCode.Exists, ReadFast, 1, -1, 1),
        new("incr", CommandKind.ReplicatedWrite, 2, CommandCode.Incr, WriteDenyFast, 1, 1, 1),
        new("incrby", CommandKind.ReplicatedWrite, 3, CommandCode.IncrBy, WriteDenyFast, 1, 1, 1),
        new("decr", CommandKind.ReplicatedWrite, 2, CommandCode.Decr, WriteDenyFast, 1, 1, 1),
        new("decrby", CommandKind.ReplicatedWrite, 3, CommandCode.DecrBy, WriteDenyFast, 1, 1, 1),
        new("append", CommandKind.ReplicatedWrite, 3, CommandCode.Append, WriteDenyFast, 1, 1, 1),
        new("strlen", CommandKind.ReplicatedRead, 2, CommandCode.StrLen, ReadFast, 1, 1, 1),
        new("mget", CommandKind.ReplicatedRead, -2, CommandCode.MGet, ReadFast, 1, -1, 1),
        new("mset", CommandKind.ReplicatedWrite, -3, CommandCode.MSet, Write, 1, -1, 2),
        new("getdel", CommandKind.ReplicatedWrite, 2, CommandCode.GetDel, WriteFast, 1, 1, 1),
        new("dbsize", CommandKind.ReplicatedRead, 1, CommandCode.DbSize, ReadFast, 0, 0, 0),
        new("cas", CommandKind.ReplicatedWrite, -4, CommandCode.Cas, Write, 1, 1, 1),
        new("expire", CommandKind.ReplicatedWrite, -3, CommandCode.Expire, WriteFast, 1, 1, 1),
        new("pexpire", CommandKind.ReplicatedWrite, -3, CommandCode.PExpire, WriteFast, 1, 1, 1),
        new("ttl", CommandKind.ReplicatedRead, 2, CommandCode.Ttl, ReadFast, 1, 1, 1),
        new("pttl", CommandKind.ReplicatedRead, 2, CommandCode.PTtl, ReadFast, 1, 1, 1),
        new("persist", CommandKind.ReplicatedWrite, 2, CommandCode.Persist, WriteFast, 1, 1, 1),
        new("setnx", CommandKind.ReplicatedWrite, 3, CommandCode.SetNx, WriteDenyFast, 1, 1, 1),
        new("setex", CommandKind.ReplicatedWrite, 4, CommandCode.SetEx, Write, 1, 1, 1),
        new("psetex", CommandKind.ReplicatedWrite, 4, CommandCode.PSetEx, Write, 1, 1, 1),
        new("getset", CommandKind.ReplicatedWrite, 3, CommandCode.GetSet, WriteDenyFast, 1, 1, 1),
        new("unlink", CommandKind.ReplicatedWrite, -2, CommandCode.Unlink, WriteFast, 1, -1, 1),
        new("ping", CommandKind.Local, -1, CommandCode.None, Connection, 0, 0, 0),
        new("echo", CommandKind.Local, 2, CommandCode.None, Connection, 0, 0, 0),
        new("hello", CommandKind.Local, -1, CommandCode.None, NoAuth, 0, 0, 0),
        new("auth", CommandKind.Local, -2, CommandCode.None, NoAuth, 0, 0, 0),
        new("client", CommandKind.Local, -2, CommandCode.None, Admin, 0, 0, 0),
        new("select", CommandKind.Local, 2, CommandCode.None, Connection, 0, 0, 0),
        new("quit", CommandKind.Local, -1, CommandCode.None, NoAuth, 0, 0, 0),
        new("command", CommandKind.Local, -1, CommandCode.None, Admin, 0, 0, 0),
        new("info", CommandKind.Local, -1, CommandCode.None, Admin, 0, 0, 0),
        new("config", CommandKind.Local, -2, CommandCode.None, Admin, 0, 0, 0),
        new("role", CommandKind.Local, 1, CommandCode.None, Connection, 0, 0, 0),
    ];

    private static readonly Dictionary<string, CommandSpec>.AlternateLookup<ReadOnlySpan<char>> ByName =
        Specs.ToDictionary(spec => spec.Name, StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    private static readonly CommandSpec?[] ByCode = BuildCodeTable();

    /// <summary>Every command this server knows, in table order.</summary>
    public static IReadOnlyList<CommandSpec> Commands => Specs;

    /// <summary>How <paramref name="command"/> is handled (by its name only; arity is not checked).</summary>
    public static CommandKind Classify(RespCommand command) =>
        TryGetSpec(command[0], out var spec) ? spec.Kind : CommandKind.Unknown;

    /// <summary>Finds the command named <paramref name="name"/> (any case).</summary>
    public static bool TryGetSpec(ReadOnlySpan<byte> name, [NotNullWhen(true)] out CommandSpec? spec)
    {
        spec = null;
        if (name.Length is 0 or > 16)
        {
            return false;
        }

        Span<char> chars = stackalloc char[name.Length];
        Encoding.Latin1.GetChars(name, chars);
        return ByName.TryGetValue(chars, out spec);
    }

    /// <summary>Finds the command named <paramref name="name"/> (any case).</summary>
    public static bool TryGetSpec(string name, [NotNullWhen(true)] out CommandSpec? spec) =>
        ByName.TryGetValue(name.AsSpan(), out spec);

    /// <summary>The replicated command with operation code <paramref name="code"/>, if any.</summary>
    public static CommandSpec? SpecOf(CommandCode code) => (int)code < ByCode.Length ? ByCode[(int)code] : null;

    /// <summary>
    /// The reply to a command this server does not know, as Redis 7 words it:
    /// <c>ERR unknown command 'FOO', with args beginning with: 'a' 'b' </c>.
    /// </summary>
    public static byte[] UnknownCommandReply(RespCommand command)
    {
        var message = new List<byte>(64);
        message.AddRange("-ERR unknown command '"u8);
        message.AddRange(Truncate(command[0], 128));
        message.AddRange("', with args beginning with: "u8);
        var args = 0;
        for (var i = 1; i < command.Count && args < 128; i++)
        {
            var piece = Truncate(command[i], 128 - args);
            message.Add((byte)'\'');
            message.AddRange(piece);
            message.AddRange("' "u8);
            args += piece.Length + 3;
        }

        return Terminate(message);
    }

    /// <summary>The reply to an unknown subcommand: <c>ERR unknown subcommand 'x'. Try CLIENT HELP.</c></summary>
    public static byte[] UnknownSubcommandReply(string command, ReadOnlySpan<byte> subcommand)
    {
        var message = new List<byte>(64);
        message.AddRange("-ERR unknown subcommand '"u8);
        message.AddRange(Truncate(subcommand, 128));
        message.AddRange(Encoding.ASCII.GetBytes($"'. Try {command.ToUpperInvariant()} HELP."));
        return Terminate(message);
    }

    private static ReadOnlySpan<byte> Truncate(ReadOnlySpan<byte> text, int max) => text.Length > max ? text[..max] : text;

    private static byte[] Terminate(List<byte> message)
    {
        // Like Redis, no CR or LF inside an error line.
        for (var i = 1; i < message.Count; i++)
        {
            if (message[i] is (byte)'\r' or (byte)'\n')
            {
                message[i] = (byte)' ';
            }
        }

        message.Add((byte)'\r');
        message.Add((byte)'\n');
        return [.. message];
    }

    private static CommandSpec?[] BuildCodeTable()
    {
        var table = new CommandSpec?[Specs.Max(spec => (int)spec.Code) + 1];
        foreach (var spec in Specs.Where(spec => spec.IsReplicated))
        {
            table[(int)spec.Code] = spec;
        }

        return table;
    }
}
