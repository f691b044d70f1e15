using System.Runtime.CompilerServices;

namespace Viewstamped;

/// <summary>
/// Always-on assertions. Unlike <c>Debug.Assert</c> they stay in Release builds: a broken
/// invariant in a consensus protocol must stop the replica, not corrupt the cluster.
/// </summary>
public static class Invariant
{
    /// <summary>Throws <see cref="InvariantViolationException"/> when <paramref name="condition"/> is false.</summary>
    public static void That(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message);
        }
    }

    /// <summary>
    /// Throws <see cref="InvariantViolationException"/> when <paramref name="condition"/> is false. The
    /// interpolated <paramref name="message"/> is formatted only then: assertions run after every step,
    /// so a message built eagerly would cost more than the check.
    /// </summary>
    public static void That(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref FailureMessage message)
    {
        if (!condition)
        {
            throw new InvariantViolationException(message.ToString());
        }
    }
}

/// <summary>
/// An interpolated failure message that is formatted only when its condition is false, so an
/// assertion that holds costs a comparison and nothing else.
/// </summary>
[InterpolatedStringHandler]
public ref struct FailureMessage
{
    private DefaultInterpolatedStringHandler inner;

    /// <summary>Starts a message; nothing is appended unless <paramref name="condition"/> is false.</summary>
    public FailureMessage(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
    {
        shouldAppend = !condition;
        inner = shouldAppend ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    /// <summary>Appends a literal part.</summary>
    public void AppendLiteral(string value) => inner.AppendLiteral(value);

    /// <summary>Appends a formatted part.</summary>
    public void AppendFormatted<T>(T value) => inner.AppendFormatted(value);

    /// <summary>The message, once formatted.</summary>
    public override string ToString() => inner.ToStringAndClear();
}

/// <summary>A protocol invariant did not hold: the replica's state can no longer be trusted.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
