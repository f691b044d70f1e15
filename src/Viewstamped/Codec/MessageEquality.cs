using System.Globalization;
using System.Text;
using Viewstamped.Messages;

namespace Viewstamped.Codec;

/// <summary>
/// Structural comparison and a stable one-line rendering of messages, for tests, checkers and traces.
/// Message records compare their byte arrays by reference; <see cref="Equal(Message, Message)"/> compares contents.
/// </summary>
public static class MessageEquality
{
    /// <summary>
    /// True when <paramref name="a"/> and <paramref name="b"/> are the same kind of message with equal
    /// headers and equal fields, comparing byte arrays and log entries by content.
    /// </summary>
    public static bool Equal(Message? a, Message? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.GetType() != b.GetType() || a.Header != b.Header)
        {
            return false;
        }

        return (a, b) switch
        {
            (Request x, Request y) => x.Client == y.Client && x.RequestNumber == y.RequestNumber && x.Kind == y.Kind && Same(x.Operation, y.Operation),
            (Reply x, Reply y) => x.Client == y.Client && x.RequestNumber == y.RequestNumber && x.Status == y.Status && x.Op == y.Op && Same(x.Result, y.Result),
            (Prepare x, Prepare y) => x.CommitNumber == y.CommitNumber && Same(x.Entries, y.Entries),
            (PrepareOk x, PrepareOk y) => x.Op == y.Op,
            (Commit x, Commit y) => x.CommitNumber == y.CommitNumber && x.Op == y.Op,
            (StartViewChange, StartViewChange) => true,
            (DoViewChange x, DoViewChange y) => x.LogView == y.LogView && x.Op == y.Op && x.CommitNumber == y.CommitNumber && x.TailUncertain == y.TailUncertain && x.LogDamaged == y.LogDamaged && Same(x.Entries, y.Entries),
            (StartView x, StartView y) => x.Op == y.Op && x.CommitNumber == y.CommitNumber && Same(x.Entries, y.Entries),
            (Recovery x, Recovery y) => x.Nonce == y.Nonce,
            (RecoveryResponse x, RecoveryResponse y) => x.Nonce == y.Nonce && x.Op == y.Op && x.CommitNumber == y.CommitNumber && Same(x.Entries, y.Entries),
            (GetState x, GetState y) => x.Op == y.Op,
            (NewState x, NewState y) => x.Op == y.Op && x.CommitNumber == y.CommitNumber && Same(x.Entries, y.Entries)
                && x.CheckpointOp == y.CheckpointOp && x.CheckpointSize == y.CheckpointSize && x.CheckpointChecksum == y.CheckpointChecksum,
            (GetCheckpoint x, GetCheckpoint y) => x.CheckpointOp == y.CheckpointOp && x.Offset == y.Offset,
            (CheckpointChunk x, CheckpointChunk y) => x.CheckpointOp == y.CheckpointOp && x.TotalSize == y.TotalSize && x.Checksum == y.Checksum
                && x.Offset == y.Offset && Same(x.Data, y.Data),
            (RequestEntry x, RequestEntry y) => x.Op == y.Op && x.Checksum == y.Checksum,
            (RepairEntry x, RepairEntry y) => Same(x.Entry, y.Entry),
            _ => false,
        };
    }

    private static bool Same(LogEntry? a, LogEntry? b) =>
        ReferenceEquals(a, b)
        || (a is not null && b is not null
            && a.Op == b.Op
            && a.View == b.View
            && a.Kind == b.Kind
            && a.Client == b.Client
            && a.RequestNumber == b.RequestNumber
            && a.Parent == b.Parent
            && Same(a.Operation, b.Operation)
            && Same(a.Prediction, b.Prediction));

    /// <summary>
    /// A stable one-line rendering: command, view, epoch when not 0, sender (<c>client</c> for
    /// <see cref="ReplicaIndex.None"/>), then the fields, e.g. <c>Prepare v3 r0 commit=5 entries=[6..8]</c>.
    /// Byte arrays show their length, e.g. <c>op=12B</c>; the cluster id is left out.
    /// </summary>
    public static string Describe(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"{message.Command} v{message.Header.View.Value}");
        if (message.Header.Epoch != 0)
        {
            s.Append(CultureInfo.InvariantCulture, $" e{message.Header.Epoch}");
        }

        if (message.Header.Replica == ReplicaIndex.None)
        {
            s.Append(" client");
        }
        else
        {
            s.Append(CultureInfo.InvariantCulture, $" r{message.Header.Replica.Value}");
        }

        switch (message)
        {
            case Request m:
                s.Append(CultureInfo.InvariantCulture, $" c={Hex(m.Client.Value)} n={m.RequestNumber} {m.Kind} op={Size(m.Operation)}");
                break;
            case Reply m:
                s.Append(CultureInfo.InvariantCulture, $" c={Hex(m.Client.Value)} n={m.RequestNumber} {m.Status} op={m.Op.Value} result={Size(m.Result)}");
                break;
            case Prepare m:
                s.Append(CultureInfo.InvariantCulture, $" commit={m.CommitNumber.Value} entries={Range(m.Entries)}");
                break;
            case PrepareOk m:
                s.Append(CultureInfo.InvariantCulture, $" op={m.Op.Value}");
                break;
            case Commit m:
                s.Append(CultureInfo.InvariantCulture, $" commit={m.CommitNumber.Value} op={m.Op.Value}");
                break;
            case DoViewChange m:
                s.Append(CultureInfo.InvariantCulture, $" logView={m.LogView.Value} op={m.Op.Value} commit={m.CommitNumber.Value} entries={Range(m.Entries)}");
                s.Append(m.TailUncertain ? " tailUncertain" : string.Empty).Append(m.LogDamaged ? " logDamaged" : string.Empty);
                break;
            case StartView m:
                s.Append(CultureInfo.InvariantCulture, $" op={m.Op.Value} commit={m.CommitNumber.Value} entries={Range(m.Entries)}");
                break;
            case Recovery m:
                s.Append(CultureInfo.InvariantCulture, $" nonce={Hex(m.Nonce)}");
                break;
            case RecoveryResponse m:
                s.Append(CultureInfo.InvariantCulture, $" nonce={Hex(m.Nonce)} op={m.Op.Value} commit={m.CommitNumber.Value} entries={Range(m.Entries)}");
                break;
            case GetState m:
                s.Append(CultureInfo.InvariantCulture, $" op={m.Op.Value}");
                break;
            case NewState m:
                s.Append(CultureInfo.InvariantCulture, $" op={m.Op.Value} commit={m.CommitNumber.Value} entries={Range(m.Entries)}");
                s.Append(CultureInfo.InvariantCulture, $" checkpoint={m.CheckpointOp.Value} size={m.CheckpointSize} checksum={m.CheckpointChecksum:x16}");
                break;
            case GetCheckpoint m:
                s.Append(CultureInfo.InvariantCulture, $" checkpoint={m.CheckpointOp.Value} offset={m.Offset}");
                break;
            case CheckpointChunk m:
                s.Append(CultureInfo.InvariantCulture, $" checkpoint={m.CheckpointOp.Value} offset={m.Offset} data={Size(m.Data)} total={m.TotalSize} checksum={m.Checksum:x16}");
                break;
            case RequestEntry m:
                s.Append(CultureInfo.InvariantCulture, $" op={m.Op.Value} checksum={m.Checksum:x16}");
                break;
            case RepairEntry m:
                s.Append(CultureInfo.InvariantCulture, $" op={m.Entry?.Op.Value} checksum={m.Entry?.Checksum():x16}");
                break;
            default:
                break;
        }

        return s.ToString();
    }

    private static bool Same(byte[]? a, byte[]? b) =>
        ReferenceEquals(a, b) || (a is not null && b is not null && a.AsSpan().SequenceEqual(b));

    private static bool Same(LogEntry[]? a, LogEntry[]? b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a is null || b is null || a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (!Same(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Hex(UInt128 value) => value.ToString("x", CultureInfo.InvariantCulture);

    private static string Size(byte[]? bytes) => bytes is null ? "null" : string.Create(CultureInfo.InvariantCulture, $"{bytes.Length}B");

    // [] when empty, [6] for one entry, [6..8] for a run; a count is added when the ops are not a
    // run of consecutive numbers from the first to the last, e.g. [6..9 n=2].
    private static string Range(LogEntry[]? entries)
    {
        if (entries is null)
        {
            return "null";
        }

        if (entries.Length == 0)
        {
            return "[]";
        }

        var first = entries[0]?.Op.Value ?? 0;
        var last = entries[^1]?.Op.Value ?? 0;
        var consecutive = true;
        for (var i = 1; i < entries.Length && consecutive; i++)
        {
            consecutive = entries[i] is not null && entries[i - 1] is not null && entries[i].Op.Value == entries[i - 1].Op.Value + 1;
        }

        if (entries.Length == 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"[{first}]");
        }

        return consecutive
            ? string.Create(CultureInfo.InvariantCulture, $"[{first}..{last}]")
            : string.Create(CultureInfo.InvariantCulture, $"[{first}..{last} n={entries.Length}]");
    }
}
