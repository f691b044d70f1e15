using System.Diagnostics;

namespace Viewstamped.Runtime.Transport;

/// <summary>
/// The way to one remote replica: the connection currently up, if any. Frames sent while no connection
/// is up wait in a small bounded buffer and go out when one attaches; beyond it they are dropped,
/// which the protocol tolerates (it resends on its timers).
/// </summary>
internal sealed class Link(int pendingMax, TransportCounters counters)
{
    private readonly Queue<(OutboundFrame Frame, ActivityContext Trace)> pending = new();
    private readonly Lock gate = new();
    private FrameConnection? current;

    /// <summary>The connection up now, or null.</summary>
    public FrameConnection? Current
    {
        get
        {
            lock (gate)
            {
                return current;
            }
        }
    }

    /// <summary>
    /// Sends on the current connection (with <paramref name="trace"/> when it carries trace context), or
    /// buffers while there is none. Takes its own reference to <paramref name="frame"/> when it keeps it;
    /// the caller keeps (and releases) its own.
    /// </summary>
    public bool TrySend(OutboundFrame frame, ActivityContext trace = default)
    {
        FrameConnection? connection;
        lock (gate)
        {
            connection = current;
            if (connection is null || connection.IsClosed)
            {
                if (pending.Count >= pendingMax)
                {
                    pending.Dequeue().Frame.Release();
                    counters.DroppedFrame("link_down");
                }

                pending.Enqueue((frame.Retain(), trace));
                return true;
            }
        }

        return connection.TrySend(frame, trace);
    }

    /// <summary>Makes <paramref name="connection"/> the current one and flushes what waited; returns the one it replaced.</summary>
    public FrameConnection? Attach(FrameConnection connection)
    {
        lock (gate)
        {
            var replaced = current;
            current = connection;
            while (pending.TryDequeue(out var waiting))
            {
                connection.TrySend(waiting.Frame, waiting.Trace);
                waiting.Frame.Release();
            }

            return replaced == connection ? null : replaced;
        }
    }

    /// <summary>Forgets <paramref name="connection"/> if it is still the current one.</summary>
    public void Detach(FrameConnection connection)
    {
        lock (gate)
        {
            if (current == connection)
            {
                current = null;
            }
        }
    }
}
