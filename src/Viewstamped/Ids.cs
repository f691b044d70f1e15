using System.Diagnostics;

namespace Viewstamped;

/// <summary>A view number (VR Revisited §4): the epoch of one primary's tenure.</summary>
[DebuggerDisplay("v{Value}")]
public readonly record struct View(ulong Value) : IComparable<View>
{
    /// <summary>The view after this one.</summary>
    public View Next => new(Value + 1);

    /// <inheritdoc />
    public int CompareTo(View other) => Value.CompareTo(other.Value);

    /// <summary>Orders views.</summary>
    public static bool operator <(View a, View b) => a.Value < b.Value;

    /// <summary>Orders views.</summary>
    public static bool operator >(View a, View b) => a.Value > b.Value;

    /// <summary>Orders views.</summary>
    public static bool operator <=(View a, View b) => a.Value <= b.Value;

    /// <summary>Orders views.</summary>
    public static bool operator >=(View a, View b) => a.Value >= b.Value;

    /// <summary>The larger of two views.</summary>
    public static View Max(View a, View b) => a >= b ? a : b;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A position in the replicated log (op-number and commit-number in VR Revisited).</summary>
[DebuggerDisplay("op{Value}")]
public readonly record struct OpNumber(ulong Value) : IComparable<OpNumber>
{
    /// <summary>The op before the first entry: an empty log ends here.</summary>
    public static readonly OpNumber Zero = new(0);

    /// <summary>The op after this one.</summary>
    public OpNumber Next => new(Value + 1);

    /// <summary>The op before this one.</summary>
    public OpNumber Previous => new(Value - 1);

    /// <inheritdoc />
    public int CompareTo(OpNumber other) => Value.CompareTo(other.Value);

    /// <summary>Orders ops.</summary>
    public static bool operator <(OpNumber a, OpNumber b) => a.Value < b.Value;

    /// <summary>Orders ops.</summary>
    public static bool operator >(OpNumber a, OpNumber b) => a.Value > b.Value;

    /// <summary>Orders ops.</summary>
    public static bool operator <=(OpNumber a, OpNumber b) => a.Value <= b.Value;

    /// <summary>Orders ops.</summary>
    public static bool operator >=(OpNumber a, OpNumber b) => a.Value >= b.Value;

    /// <summary>The op <paramref name="count"/> places later.</summary>
    public static OpNumber operator +(OpNumber a, ulong count) => new(a.Value + count);

    /// <summary>The number of ops from <paramref name="b"/> to <paramref name="a"/>.</summary>
    public static ulong operator -(OpNumber a, OpNumber b) => a.Value - b.Value;

    /// <summary>The smaller of two ops.</summary>
    public static OpNumber Min(OpNumber a, OpNumber b) => a <= b ? a : b;

    /// <summary>The larger of two ops.</summary>
    public static OpNumber Max(OpNumber a, OpNumber b) => a >= b ? a : b;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The index of a replica in the configuration, 0 to replicaCount-1.</summary>
[DebuggerDisplay("r{Value}")]
public readonly record struct ReplicaIndex(byte Value)
{
    /// <summary>The sender field of messages that come from a client, not a replica.</summary>
    public static readonly ReplicaIndex None = new(byte.MaxValue);

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>A client session's identity: a random 128-bit number the client draws once (D3).</summary>
[DebuggerDisplay("c{Value}")]
public readonly record struct ClientId(UInt128 Value)
{
    /// <inheritdoc />
    public override string ToString() => Value.ToString("x32", System.Globalization.CultureInfo.InvariantCulture);
}
