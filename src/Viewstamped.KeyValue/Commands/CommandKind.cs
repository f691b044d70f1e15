namespace Viewstamped.KeyValue;

/// <summary>How a front end handles a command.</summary>
public enum CommandKind
{
    /// <summary>Not a command this server knows: answer <c>-ERR unknown command</c>.</summary>
    Unknown,

    /// <summary>Answered by the connection itself (PING, AUTH, CLIENT, INFO, ...): see <see cref="ConnectionState"/>.</summary>
    Local,

    /// <summary>A read that goes through the log, for linearizability (GET, MGET, EXISTS, ...).</summary>
    ReplicatedRead,

    /// <summary>A write, through the log.</summary>
    ReplicatedWrite,
}
