namespace Viewstamped.KeyValue;

/// <summary>What a front end does with a command.</summary>
public enum CommandAction
{
    /// <summary>Send <see cref="CommandOutcome.Reply"/>.</summary>
    Reply,

    /// <summary>Send <see cref="CommandOutcome.Reply"/>, then close the connection (QUIT).</summary>
    ReplyAndClose,

    /// <summary>
    /// Submit <see cref="CommandOutcome.Operation"/> through the replication protocol; the result of
    /// its execution is the RESP reply, to send verbatim.
    /// </summary>
    Replicate,
}

/// <summary>The decision <see cref="ConnectionState.Process"/> made for one command.</summary>
public readonly record struct CommandOutcome
{
    private CommandOutcome(CommandAction action, byte[] reply, byte[] operation, CommandKind kind)
    {
        Action = action;
        Reply = reply;
        Operation = operation;
        Kind = kind;
    }

    /// <summary>What to do.</summary>
    public CommandAction Action { get; }

    /// <summary>The RESP reply to send (empty for <see cref="CommandAction.Replicate"/>).</summary>
    public byte[] Reply { get; }

    /// <summary>The operation to replicate (empty unless <see cref="CommandAction.Replicate"/>).</summary>
    public byte[] Operation { get; }

    /// <summary>The command's kind: a replicated read or write, local, or unknown.</summary>
    public CommandKind Kind { get; }

    /// <summary>Reply at once.</summary>
    public static CommandOutcome Answer(byte[] reply, CommandKind kind = CommandKind.Local) => new(CommandAction.Reply, reply, [], kind);

    /// <summary>Reply, then close.</summary>
    public static CommandOutcome AnswerAndClose(byte[] reply) => new(CommandAction.ReplyAndClose, reply, [], CommandKind.Local);

    /// <summary>Replicate an operation.</summary>
    public static CommandOutcome Replicate(byte[] operation, CommandKind kind) => new(CommandAction.Replicate, [], operation, kind);
}
