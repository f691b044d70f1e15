using System.Buffers.Binary;

namespace Viewstamped;

/// <summary>
/// One registered client session in the client table. The table updates it in place as the
/// session's requests execute, so read it where it is found rather than keep it.
/// </summary>
public sealed class ClientSessionRecord(ulong requestNumber, OpNumber op, byte[] result)
{
    /// <summary>The latest executed request number (0 right after registering).</summary>
    public ulong RequestNumber { get; private set; } = requestNumber;

    /// <summary>The op that executed it.</summary>
    public OpNumber Op { get; private set; } = op;

    /// <summary>Its reply, re-sent for a duplicate of that request.</summary>
    public byte[] Result { get; private set; } = result;

    internal void Update(ulong requestNumber, OpNumber op, byte[] result)
    {
        RequestNumber = requestNumber;
        Op = op;
        Result = result;
    }
}

/// <summary>
/// The client table (§4, with the fixes of D3): changed only when an op commits, so every replica
/// holds the same table at the same op; bounded by a capacity with deterministic eviction of the
/// session whose latest op is oldest.
/// </summary>
public sealed class ClientTable(int capacity)
{
    private readonly Dictionary<ClientId, ClientSessionRecord> sessions = [];

    /// <summary>The number of registered sessions.</summary>
    public int Count => sessions.Count;

    /// <summary>The session of <paramref name="client"/>, or null when it is not registered.</summary>
    public ClientSessionRecord? Find(ClientId client) => sessions.GetValueOrDefault(client);

    /// <summary>
    /// Registers <paramref name="client"/> at <paramref name="op"/>; returns the client evicted to
    /// make room, if any. Registering an existing session changes nothing.
    /// </summary>
    public ClientId? Register(ClientId client, OpNumber op)
    {
        if (sessions.ContainsKey(client))
        {
            return null;
        }

        ClientId? evicted = null;
        if (sessions.Count >= capacity)
        {
            evicted = OldestSession();
            sessions.Remove(evicted.Value);
        }

        sessions[client] = new ClientSessionRecord(0, op, []);
        return evicted;
    }

    /// <summary>Records that <paramref name="client"/>'s request executed at <paramref name="op"/>.</summary>
    public void RecordExecution(ClientId client, ulong requestNumber, OpNumber op, byte[] result)
    {
        Invariant.That(sessions.TryGetValue(client, out var session), "only registered sessions execute");
        session!.Update(requestNumber, op, result);
    }

    /// <summary>Serializes the table in client-id order, so equal tables give equal bytes.</summary>
    public byte[] Serialize()
    {
        var ordered = new KeyValuePair<ClientId, ClientSessionRecord>[sessions.Count];
        var size = 4;
        var i = 0;
        foreach (var pair in sessions)
        {
            ordered[i++] = pair;
            size += 16 + 8 + 8 + 4 + pair.Value.Result.Length;
        }

        ordered.AsSpan().Sort(static (a, b) => a.Key.Value.CompareTo(b.Key.Value));
        var bytes = new byte[size];
        var span = bytes.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, ordered.Length);
        span = span[4..];
        foreach (var (client, record) in ordered)
        {
            BinaryPrimitives.WriteUInt128LittleEndian(span, client.Value);
            BinaryPrimitives.WriteUInt64LittleEndian(span[16..], record.RequestNumber);
            BinaryPrimitives.WriteUInt64LittleEndian(span[24..], record.Op.Value);
            BinaryPrimitives.WriteInt32LittleEndian(span[32..], record.Result.Length);
            record.Result.CopyTo(span[36..]);
            span = span[(36 + record.Result.Length)..];
        }

        return bytes;
    }

    /// <summary>Replaces the table with one read from <see cref="Serialize"/>'s bytes.</summary>
    public void Restore(ReadOnlySpan<byte> bytes)
    {
        sessions.Clear();
        var count = BinaryPrimitives.ReadInt32LittleEndian(bytes);
        bytes = bytes[4..];
        for (var i = 0; i < count; i++)
        {
            var client = new ClientId(BinaryPrimitives.ReadUInt128LittleEndian(bytes));
            var requestNumber = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
            var op = new OpNumber(BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]));
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes[32..]);
            sessions[client] = new ClientSessionRecord(requestNumber, op, bytes.Slice(36, length).ToArray());
            bytes = bytes[(36 + length)..];
        }
    }

    private ClientId OldestSession()
    {
        // Ops are unique, so the minimum is unique and eviction is the same on every replica.
        var oldest = default(KeyValuePair<ClientId, ClientSessionRecord>);
        var found = false;
        foreach (var pair in sessions)
        {
            if (!found || pair.Value.Op < oldest.Value.Op)
            {
                oldest = pair;
                found = true;
            }
        }

        return oldest.Key;
    }
}
