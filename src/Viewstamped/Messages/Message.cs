namespace Viewstamped.Messages;

/// <summary>A protocol message. Concrete messages are sealed records named as in VR Revisited.</summary>
public abstract record Message
{
    /// <summary>Cluster, epoch, view and sender.</summary>
    public required MessageHeader Header { get; init; }

    /// <summary>The kind of this message.</summary>
    public abstract Command Command { get; }

    /// <summary>The sender's view (shorthand for <c>Header.View</c>).</summary>
    public View View => Header.View;

    /// <summary>The sender (shorthand for <c>Header.Replica</c>).</summary>
    public ReplicaIndex Sender => Header.Replica;
}
