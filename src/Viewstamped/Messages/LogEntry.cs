using System.IO.Hashing;

namespace Viewstamped.Messages;

/// <summary>What a log entry does when it is executed.</summary>
public enum EntryKind : byte
{
    /// <summary>Registers a client session in the client table (D3 of PROTOCOL-NOTES).</summary>
    Register = 1,

    /// <summary>A client operation for the service.</summary>
    Operation = 2,
}

/// <summary>
/// One slot of the replicated log: the op-number, the view in which the primary assigned it, the
/// client request it carries and the primary's prediction for non-deterministic services (§4.4).
/// Equality compares contents, not array references.
/// </summary>
public sealed record LogEntry(
    OpNumber Op,
    View View,
    EntryKind Kind,
    ClientId Client,
    ulong RequestNumber,
    byte[] Operation,
    byte[] Prediction)
{
    /// <summary>A 64-bit checksum of every field, used by checkers to compare logs cheaply.</summary>
    public ulong Checksum()
    {
        var hash = new XxHash64();
        Span<byte> fixedFields = stackalloc byte[8 + 8 + 1 + 16 + 8 + 4];
        BitConverter.TryWriteBytes(fixedFields, Op.Value);
        BitConverter.TryWriteBytes(fixedFields[8..], View.Value);
        fixedFields[16] = (byte)Kind;
        BitConverter.TryWriteBytes(fixedFields[17..], (ulong)Client.Value);
        BitConverter.TryWriteBytes(fixedFields[25..], (ulong)(Client.Value >> 64));
        BitConverter.TryWriteBytes(fixedFields[33..], RequestNumber);
        BitConverter.TryWriteBytes(fixedFields[41..], Operation.Length);
        hash.Append(fixedFields);
        hash.Append(Operation);
        hash.Append(Prediction);
        return hash.GetCurrentHashAsUInt64();
    }

    /// <inheritdoc />
    public bool Equals(LogEntry? other) =>
        other is not null
        && Op == other.Op
        && View == other.View
        && Kind == other.Kind
        && Client == other.Client
        && RequestNumber == other.RequestNumber
        && Operation.AsSpan().SequenceEqual(other.Operation)
        && Prediction.AsSpan().SequenceEqual(other.Prediction);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Op, View, Client, RequestNumber);
}
