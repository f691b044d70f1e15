namespace Viewstamped.Messages;

/// <summary>
/// Fields every message carries: the cluster it belongs to, the configuration epoch (0 until
/// reconfiguration), the sender's view and the sender's replica index
/// (<see cref="ReplicaIndex.None"/> for clients).
/// </summary>
public readonly record struct MessageHeader(UInt128 Cluster, uint Epoch, View View, ReplicaIndex Replica);
