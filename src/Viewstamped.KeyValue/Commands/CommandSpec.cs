namespace Viewstamped.KeyValue;

/// <summary>One command this server knows, as the command table describes it.</summary>
/// <param name="Name">The lower-case name, as Redis reports it (<c>get</c>).</param>
/// <param name="Kind">Local, replicated read or replicated write.</param>
/// <param name="Arity">Redis's arity: N means exactly N arguments, -N at least N, the name included.</param>
/// <param name="Code">The operation code of a replicated command; <see cref="CommandCode.None"/> otherwise.</param>
/// <param name="Flags">Redis's command flags (for <c>COMMAND INFO</c>).</param>
/// <param name="FirstKey">The position of the first key argument, 0 when none.</param>
/// <param name="LastKey">The position of the last key argument; -1 is the last argument.</param>
/// <param name="KeyStep">The distance between key arguments.</param>
public sealed record CommandSpec(
    string Name,
    CommandKind Kind,
    int Arity,
    CommandCode Code,
    IReadOnlyList<string> Flags,
    int FirstKey,
    int LastKey,
    int KeyStep)
{
    /// <summary>True for commands that go through the log.</summary>
    public bool IsReplicated => Kind is CommandKind.ReplicatedRead or CommandKind.ReplicatedWrite;

    /// <summary>True when <paramref name="count"/> arguments (the name included) satisfy the arity.</summary>
    public bool AcceptsArgumentCount(int count)
    {
        if (Arity >= 0 ? count != Arity : count < -Arity)
        {
            return false;
        }

        // MSET takes key-value pairs: Redis reports an odd count as a wrong number of arguments.
        return Code != CommandCode.MSet || count % 2 == 1;
    }

    /// <summary>The error for a wrong number of arguments, as Redis 7 words it.</summary>
    public string ArityError => $"ERR wrong number of arguments for '{Name}' command";
}
