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
/// <para>Entries form a hash chain: <see cref="Parent"/> is the <see cref="Checksum"/> of the entry
/// before it in the log of the primary that prepared it, and the checksum covers the parent. So an
/// intact entry names its predecessor exactly, and a replica whose disk lost entry n but kept n+1
/// knows which entry to ask its peers for and can verify what comes back (protocol-aware repair).</para>
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
    /// <summary>
    /// The <see cref="Checksum"/> of the entry at <c>Op - 1</c> when the primary prepared this one, or
    /// 0 when the primary did not hold it (its log started at this op after a checkpoint).
    /// </summary>
    public ulong Parent { get; init; }

    /// <summary>
    /// A 64-bit checksum (XxHash64) of every field, <see cref="Parent"/> included: the entry's identity.
    /// Checkers compare logs with it, and a replica repairing a lost entry accepts only the entry
    /// whose checksum its successor names.
    /// </summary>
    public ulong Checksum()
    {
        var length = ChecksumFixedSize + Operation.Length + Prediction.Length;
        if (length > ChecksumStackBytesMax)
        {
            // Too large for the stack: the same bytes, hashed in pieces.
            var hash = new XxHash64();
            Span<byte> fixedFields = stackalloc byte[ChecksumFixedSize];
            WriteChecksumFixedFields(fixedFields);
            hash.Append(fixedFields);
            hash.Append(Operation);
            hash.Append(Prediction);
            return hash.GetCurrentHashAsUInt64();
        }

        // The common case hashes one stack buffer and allocates nothing: this runs once per prepared entry.
        Span<byte> all = stackalloc byte[ChecksumStackBytesMax];
        WriteChecksumFixedFields(all);
        Operation.CopyTo(all[ChecksumFixedSize..]);
        Prediction.CopyTo(all[(ChecksumFixedSize + Operation.Length)..]);
        return XxHash64.HashToUInt64(all[..length]);
    }

    /// <summary>The bytes the checksum covers before the operation and the prediction.</summary>
    private const int ChecksumFixedSize = 8 + 8 + 1 + 16 + 8 + 4 + 8;

    /// <summary>Entries up to this many checksummed bytes are hashed from one stack buffer.</summary>
    private const int ChecksumStackBytesMax = 1024;

    private void WriteChecksumFixedFields(Span<byte> fixedFields)
    {
        BitConverter.TryWriteBytes(fixedFields, Op.Value);
        BitConverter.TryWriteBytes(fixedFields[8..], View.Value);
        fixedFields[16] = (byte)Kind;
        BitConverter.TryWriteBytes(fixedFields[17..], (ulong)Client.Value);
        BitConverter.TryWriteBytes(fixedFields[25..], (ulong)(Client.Value >> 64));
        BitConverter.TryWriteBytes(fixedFields[33..], RequestNumber);
        BitConverter.TryWriteBytes(fixedFields[41..], Operation.Length);
        BitConverter.TryWriteBytes(fixedFields[45..], Parent);
    }

    /// <inheritdoc />
    public bool Equals(LogEntry? other) =>
        other is not null
        && Op == other.Op
        && View == other.View
        && Kind == other.Kind
        && Client == other.Client
        && RequestNumber == other.RequestNumber
        && Parent == other.Parent
        && Operation.AsSpan().SequenceEqual(other.Operation)
        && Prediction.AsSpan().SequenceEqual(other.Prediction);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Op, View, Client, RequestNumber);
}
