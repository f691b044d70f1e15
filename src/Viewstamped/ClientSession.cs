using System.Diagnostics;
using System.Runtime.CompilerServices;
using Viewstamped.Messages;

namespace Viewstamped;

/// <summary>Where a client session stands.</summary>
public enum ClientSessionState : byte
{
    /// <summary>Not registered yet; call <see cref="ClientSession.Register"/>.</summary>
    Unregistered = 0,

    /// <summary>The registration request is in flight.</summary>
    Registering = 1,

    /// <summary>Registered, with no request in flight.</summary>
    Idle = 2,

    /// <summary>One request is in flight.</summary>
    Busy = 3,

    /// <summary>The cluster dropped the session (evicted or unknown); make a new session.</summary>
    Ended = 4,
}

/// <summary>What a reply meant to the session.</summary>
public enum ClientEventKind : byte
{
    /// <summary>The session is registered and can submit requests.</summary>
    Registered = 1,

    /// <summary>The in-flight request completed; the event carries its result.</summary>
    Completed = 2,

    /// <summary>The session ended; the event carries the reason.</summary>
    Ended = 3,
}

/// <summary>An outcome the session's owner must act on.</summary>
public readonly record struct ClientEvent(ClientEventKind Kind, ulong RequestNumber, OpNumber Op, byte[] Result, ReplyStatus Status);

/// <summary>
/// The client half of the protocol, pure like the replica: one outstanding request at a time,
/// strictly increasing request numbers, the primary learned from the views in replies, and a resend
/// to every replica when a reply is late. Its owner sends <see cref="TakeOutbox()"/>'s requests and
/// feeds back replies and ticks.
/// </summary>
[DebuggerDisplay("{Id} {State} #{RequestNumber} v{View.Value}")]
public sealed class ClientSession
{
    private readonly UInt128 cluster;
    private readonly int replicaCount;
    private readonly int requestTimeoutTicks;
    private readonly List<Envelope> outbox = [];
    private Request? inFlight;
    private View sentView;
    private ulong now;
    private ulong resendDue;

    /// <summary>
    /// Creates a session with a random id the caller drew (128 bits, so ids never collide), starting
    /// from <paramref name="initialView"/> when the caller already knows the cluster's view.
    /// </summary>
    public ClientSession(UInt128 cluster, int replicaCount, ClientId id, int requestTimeoutTicks = 100, View initialView = default)
    {
        if (replicaCount < 1 || requestTimeoutTicks < 1)
        {
            throw new ArgumentException("a session needs at least one replica and a positive timeout");
        }

        this.cluster = cluster;
        this.replicaCount = replicaCount;
        this.requestTimeoutTicks = requestTimeoutTicks;
        Id = id;
        View = initialView;
    }

    /// <summary>The session's client id.</summary>
    public ClientId Id { get; }

    /// <summary>Where the session stands.</summary>
    public ClientSessionState State { get; private set; }

    /// <summary>The latest view the session learned; its primary receives the next request.</summary>
    public View View { get; private set; }

    /// <summary>The number of the latest request submitted.</summary>
    public ulong RequestNumber { get; private set; }

    /// <summary>Why the session ended, when <see cref="State"/> is <see cref="ClientSessionState.Ended"/>.</summary>
    public ReplyStatus? EndReason { get; private set; }

    /// <summary>The request in flight, if any.</summary>
    public Request? InFlight => inFlight;

    /// <summary>Starts registration: the session's first request, committed through the log.</summary>
    public void Register()
    {
        Require(State == ClientSessionState.Unregistered, "register once, first");
        State = ClientSessionState.Registering;
        SendToPrimary(new Request(Id, 0, RequestKind.Register, []) { Header = HeaderFor(View) });
    }

    /// <summary>Submits an operation; refused while another is in flight (one at a time per session).</summary>
    public ulong Submit(byte[] operation)
    {
        Require(State == ClientSessionState.Idle, $"submit needs an idle registered session, not {State}");
        State = ClientSessionState.Busy;
        RequestNumber++;
        SendToPrimary(new Request(Id, RequestNumber, RequestKind.Operation, operation) { Header = HeaderFor(View) });
        return RequestNumber;
    }

    /// <summary>Advances time; a request without a reply for the timeout is re-sent to every replica.</summary>
    public void Tick()
    {
        now++;
        if (inFlight is not null && now >= resendDue)
        {
            resendDue = now + (ulong)requestTimeoutTicks;
            for (var i = 0; i < replicaCount; i++)
            {
                outbox.Add(new Envelope(new ReplicaIndex((byte)i), inFlight));
            }
        }
    }

    /// <summary>Handles a reply; returns what it meant, or null when it changes nothing.</summary>
    public ClientEvent? Step(Reply reply)
    {
        if (reply.Header.Cluster != cluster || reply.Client != Id || State == ClientSessionState.Ended)
        {
            return null;
        }

        View = View.Max(View, reply.View);
        if (reply.Status is ReplyStatus.Evicted or ReplyStatus.SessionUnknown)
        {
            return End(reply);
        }

        if (inFlight is null || reply.RequestNumber != inFlight.RequestNumber)
        {
            return null;
        }

        return reply.Status switch
        {
            // TooLarge will never execute, whoever is primary: it ends the request, not the session.
            ReplyStatus.Ok or ReplyStatus.ServiceError or ReplyStatus.TooLarge => Complete(reply),
            ReplyStatus.NotPrimary when View > sentView => Redirect(),
            _ => null, // NotNormal, Busy, ConcurrentRequest, Stale: the resend timer tries again.
        };
    }

    /// <summary>True when <see cref="TakeOutbox()"/> would hand over requests to send.</summary>
    public bool HasOutbox => outbox.Count > 0;

    /// <summary>Hands over the requests to send.</summary>
    public List<Envelope> TakeOutbox()
    {
        var taken = new List<Envelope>(outbox);
        outbox.Clear();
        return taken;
    }

    /// <summary>Moves the requests to send into <paramref name="into"/> (appended): a hot loop can reuse one list.</summary>
    public void TakeOutbox(List<Envelope> into)
    {
        into.AddRange(outbox);
        outbox.Clear();
    }

    private ClientEvent Complete(Reply reply)
    {
        var kind = State == ClientSessionState.Registering ? ClientEventKind.Registered : ClientEventKind.Completed;
        inFlight = null;
        State = ClientSessionState.Idle;
        return new ClientEvent(kind, reply.RequestNumber, reply.Op, reply.Result, reply.Status);
    }

    private ClientEvent End(Reply reply)
    {
        inFlight = null;
        State = ClientSessionState.Ended;
        EndReason = reply.Status;
        return new ClientEvent(ClientEventKind.Ended, reply.RequestNumber, reply.Op, [], reply.Status);
    }

    private ClientEvent? Redirect()
    {
        // The reply's view names the primary; go there now rather than wait for the timeout.
        var request = inFlight!;
        inFlight = null;
        SendToPrimary(request with { Header = HeaderFor(View) });
        return null;
    }

    private void SendToPrimary(Request request)
    {
        inFlight = request;
        sentView = View;
        resendDue = now + (ulong)requestTimeoutTicks;
        outbox.Add(new Envelope(new ReplicaIndex((byte)(View.Value % (ulong)replicaCount)), request));
    }

    private MessageHeader HeaderFor(View view) => new(cluster, 0, view, ReplicaIndex.None);

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message);
        }
    }

    private static void Require(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref FailureMessage message)
    {
        if (!condition)
        {
            throw new InvalidOperationException(message.ToString());
        }
    }
}
