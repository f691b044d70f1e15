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
}

/// <summary>A protocol invariant did not hold: the replica's state can no longer be trusted.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
