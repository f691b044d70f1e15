namespace Viewstamped.KeyValue;

/// <summary>Settings shared by every connection of a server.</summary>
public sealed record ConnectionOptions
{
    /// <summary>The password clients must give with AUTH or HELLO (<c>--requirepass</c>); null: none.</summary>
    public string? RequirePass { get; init; }

    /// <summary>Supplies what INFO, ROLE and HELLO report; called on the connection's thread.</summary>
    public Func<ServerInfo> Info { get; init; } = static () => new ServerInfo();
}
