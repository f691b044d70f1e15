using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Viewstamped.Codec;
using Viewstamped.Messages;
using Viewstamped.Runtime.Diagnostics;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Runtime.Client;

/// <summary>
/// A client of a Viewstamped cluster over TCP. <see cref="InvokeAsync(byte[], CancellationToken)"/>
/// runs one operation through the replicated service and returns its reply. The protocol half is
/// <see cref="ClientSession"/>: a session carries one request at a time, keeps its request number
/// when it re-sends (to the primary it learned, or to every replica after a timeout), and follows
/// view changes from the replies; the client registers up to <see cref="ViewstampedClientOptions.Sessions"/>
/// sessions and spreads concurrent invocations over them.
/// </summary>
/// <remarks>
/// Outcomes: a reply returns its result; an operation that made the service throw raises
/// <see cref="ServiceFailedException"/>; an invocation that was sent but got no reply in time (or was
/// cancelled after sending) raises <see cref="OutcomeUnknownException"/>, never a failure, because it
/// may have executed. Its session is then abandoned, so the operation is never re-sent under a new number.
/// </remarks>
public sealed class ViewstampedClient : IAsyncDisposable
{
    private readonly ViewstampedClientOptions options;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly MessageCodec codec;
    private readonly ClusterKey? key;
    private readonly TlsCredentials? tls;
    private readonly EndPoint[] endpoints;
    private readonly Link[] links;
    private readonly TransportCounters counters = new(null);
    private readonly ClientMetrics metrics;
    private readonly Channel<Item> inbox = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource stopping = new();
    private readonly List<FrameConnection> connections = [];
    private readonly Lock startGate = new();
    private readonly List<Slot> slots = [];
    private readonly Dictionary<ClientId, Slot> slotsById = [];
    private readonly LinkedList<Invocation> waiting = new();
    private readonly Queue<Slot> idle = new();
    private readonly List<Slot> dirty = [];
    private readonly List<Envelope> outbox = [];
    private readonly List<Task> tasks = [];
    private ITimer? timer;
    private long pendingTicks;
    private ulong knownView;
    private bool started;
    private int disposed;
    private Exception? fault;

    /// <summary>Creates a client; it connects on its first invocation.</summary>
    public ViewstampedClient(ViewstampedClientOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null, IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException($"Invalid client options: {string.Join("; ", errors)}", nameof(options));
        }

        this.options = options;
        logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Viewstamped.Client");
        time = timeProvider ?? TimeProvider.System;
        codec = new MessageCodec(options.Cluster, options.MessageSizeMax);
        key = options.Key ?? (options.KeyFile is null ? null : ClusterKey.Load(options.KeyFile));
        tls = options.ResolveTls();
        endpoints = options.Replicas.Select(Endpoints.Parse).ToArray();
        links = endpoints.Select(_ => new Link(64, counters)).ToArray();
        metrics = new ClientMetrics(meterFactory);
    }

    /// <summary>The latest view the client learned from a reply; its primary gets new sessions' first requests.</summary>
    public View View => new(Volatile.Read(ref knownView));

    /// <summary>The transport's counters.</summary>
    public TransportStatistics Statistics => counters.Snapshot();

    /// <summary>
    /// Runs <paramref name="request"/> through the replicated service and returns the service's reply.
    /// </summary>
    /// <exception cref="OutcomeUnknownException">It was sent and no reply came in time, or it was cancelled after sending: it executed once or not at all.</exception>
    /// <exception cref="ServiceFailedException">It executed and the service threw.</exception>
    /// <exception cref="TimeoutException">It could not be sent within the timeout (no session could be registered): it did not execute.</exception>
    /// <exception cref="OperationCanceledException">It was cancelled before it was sent: it did not execute.</exception>
    public async Task<byte[]> InvokeAsync(byte[] request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (Volatile.Read(ref fault) is { } failure)
        {
            throw new InvalidOperationException("The client stopped on an internal error", failure);
        }

        EnsureStarted();
        using var activity = ClientMetrics.StartInvoke();
        var invocation = new Invocation(this, request, time.GetTimestamp(), time.GetTimestamp() + (long)(options.RequestTimeout.TotalSeconds * time.TimestampFrequency))
        {
            // The replica's activity becomes a child of this one (or of the caller's, when nobody listens here).
            Trace = activity?.Context ?? Activity.Current?.Context ?? default,
        };
        // No lambda capturing locals: in an async method that would allocate a closure on every call, cancellable or not.
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static state => ((Invocation)state!).Cancel(), invocation)
            : default;
        inbox.Writer.TryWrite(new Item(ItemKind.Invoke, invocation, null));
        var outcome = "ok";
        try
        {
            return await invocation.Source.Task.ConfigureAwait(false);
        }
        catch (OutcomeUnknownException)
        {
            outcome = "unknown";
            throw;
        }
        catch (ServiceFailedException)
        {
            outcome = "service_error";
            throw;
        }
        catch (TimeoutException)
        {
            outcome = "timeout";
            throw;
        }
        catch (OperationCanceledException)
        {
            outcome = "canceled";
            throw;
        }
        finally
        {
            metrics.Outcome(time.GetElapsedTime(invocation.Started).TotalSeconds, outcome);
            activity?.SetTag(ViewstampedTelemetry.StatusTag, outcome);
            if (invocation.Session is { } session)
            {
                activity?.SetTag("vsr.client", session.ToString());
                activity?.SetTag("vsr.request_number", invocation.RequestNumber);
            }
        }
    }

    /// <summary>Runs a typed request: <paramref name="serialize"/> makes the operation, <paramref name="deserialize"/> reads the reply.</summary>
    public async Task<TResponse> InvokeAsync<TRequest, TResponse>(
        TRequest request, Func<TRequest, byte[]> serialize, Func<byte[], TResponse> deserialize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(serialize);
        ArgumentNullException.ThrowIfNull(deserialize);
        var reply = await InvokeAsync(serialize(request), cancellationToken).ConfigureAwait(false);
        return deserialize(reply);
    }

    /// <summary>Stops the client: in-flight invocations end with <see cref="OutcomeUnknownException"/>, unsent ones with <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        inbox.Writer.TryWrite(new Item(ItemKind.Dispose, null, null));
        bool wasStarted;
        lock (startGate)
        {
            wasStarted = started;
        }

        if (wasStarted)
        {
            timer?.Dispose();
            try
            {
                await tasks[0].ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        FrameConnection[] open;
        lock (connections)
        {
            open = connections.ToArray();
        }

        foreach (var connection in open)
        {
            connection.Close("the client is closing");
        }

        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        metrics.Dispose();
        stopping.Dispose();
        if (options.Tls is null)
        {
            tls?.Dispose(); // loaded from files: this client owns it
        }
    }

    private void EnsureStarted()
    {
        lock (startGate)
        {
            if (!started)
            {
                started = true;
                Start();
            }
        }
    }

    /// <summary>Starts the driver loop, the dialers and the tick timer (once, under the start lock).</summary>
    private void Start()
    {
        var token = stopping.Token;
        tasks.Add(Task.Run(() => DriveAsync(token), CancellationToken.None));
        for (var i = 0; i < endpoints.Length; i++)
        {
            var index = new ReplicaIndex((byte)i);
            tasks.Add(Task.Run(() => DialAsync(index, token), CancellationToken.None));
        }

        timer = time.CreateTimer(
            _ =>
            {
                Interlocked.Increment(ref pendingTicks);
                inbox.Writer.TryWrite(new Item(ItemKind.Wake, null, null));
            },
            null,
            options.TickInterval,
            options.TickInterval);
    }

    private async Task DialAsync(ReplicaIndex replica, CancellationToken token)
    {
        var plan = new DialPlan(
            endpoints[replica.Value], options.ConnectTimeout, options.HandshakeTimeout, options.ReconnectDelayMin, options.ReconnectDelayMax, time, tls, new TlsPeer(options.Cluster, replica));
        var name = $"replica {replica} at {Endpoints.Format(endpoints[replica.Value])}";
        string? lastRefusal = null;
        await Dialer.KeepConnectedAsync(
            plan,
            (stream, ct) => Handshake.InitiateAsync(stream, options.Cluster, PeerRole.Client, ReplicaIndex.None, replica, key, traceContext: true, ct),
            (socket, stream, result) => Connected(replica, socket, stream, result),
            refused =>
            {
                counters.RefusedConnection(refused.Code);
                if (lastRefusal != refused.Message)
                {
                    lastRefusal = refused.Message;
                    RuntimeLog.OutboundRefused(logger, name, refused.Message);
                }
            },
            reason => RuntimeLog.ConnectFailed(logger, name, reason),
            token).ConfigureAwait(false);
    }

    private FrameConnection Connected(ReplicaIndex replica, Socket socket, Stream stream, HandshakeResult result)
    {
        var connection = new FrameConnection(socket, stream, result, codec, options.SendQueueCapacity, counters, logger);
        lock (connections)
        {
            connections.Add(connection);
        }

        _ = connection.Completion.ContinueWith(
            _ =>
            {
                links[replica.Value].Detach(connection);
                lock (connections)
                {
                    connections.Remove(connection);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        connection.Start((from, message, _) =>
        {
            if (message is not Reply reply || message.Sender != from.RemoteReplica)
            {
                return ValueTask.FromResult<string?>($"replica {from.RemoteReplica} sent a {message.Command} as replica {message.Sender}; clients accept only its replies");
            }

            inbox.Writer.TryWrite(new Item(ItemKind.Reply, null, reply));
            return ValueTask.FromResult<string?>(null);
        });
        links[replica.Value].Attach(connection)?.Close("replaced by a newer connection");
        return connection;
    }

    private async Task DriveAsync(CancellationToken token)
    {
        try
        {
            await DriveLoopAsync(token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug must not leave callers waiting forever: fail what is pending, as disposal would.
            Volatile.Write(ref fault, e);
            FailAll();
            throw;
        }
    }

    private async Task DriveLoopAsync(CancellationToken token)
    {
        var reader = inbox.Reader;

        // No token for the wait (a cancellable wait allocates each time): disposal ends the loop with a Dispose item.
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            token.ThrowIfCancellationRequested();
            while (reader.TryRead(out var item))
            {
                switch (item.Kind)
                {
                    case ItemKind.Invoke:
                        waiting.AddLast(item.Invocation!);
                        break;
                    case ItemKind.Reply:
                        OnReply(item.Reply!);
                        break;
                    case ItemKind.Cancel:
                        OnCancel(item.Invocation!);
                        break;
                    case ItemKind.Dispose:
                        FailAll();
                        return;
                }
            }

            var ticks = Math.Min(Interlocked.Exchange(ref pendingTicks, 0), 10);
            if (ticks > 0)
            {
                for (var i = 0; i < ticks; i++)
                {
                    slots.ForEach(slot => slot.Session.Tick());
                }

                slots.ForEach(MarkDirty);

                ExpireDeadlines();
            }

            Assign();
            SendOutboxes();
        }
    }

    private void OnReply(Reply reply)
    {
        if (reply.View.Value > Volatile.Read(ref knownView))
        {
            Volatile.Write(ref knownView, reply.View.Value);
        }

        if (!slotsById.TryGetValue(reply.Client, out var slot))
        {
            return;
        }

        var outcome = slot.Session.Step(reply);
        MarkDirty(slot);
        if (outcome is not { } happened)
        {
            return;
        }

        switch (happened.Kind)
        {
            case ClientEventKind.Registered:
                metrics.SessionRegistered();
                idle.Enqueue(slot);
                break;
            case ClientEventKind.Completed:
                var invocation = slot.Current;
                slot.Current = null;
                if (happened.Status == ReplyStatus.Ok)
                {
                    invocation?.Source.TrySetResult(happened.Result);
                }
                else if (happened.Status == ReplyStatus.TooLarge)
                {
                    invocation?.Source.TrySetException(new ArgumentException("the request is larger than the cluster's RequestSizeMax; it was not executed"));
                }
                else
                {
                    invocation?.Source.TrySetException(new ServiceFailedException(happened.Op));
                }

                idle.Enqueue(slot);
                break;
            case ClientEventKind.Ended:
                Abandon(slot, OutcomeUnknownReason.SessionEnded);
                break;
        }
    }

    private void OnCancel(Invocation invocation)
    {
        if (invocation.Source.Task.IsCompleted)
        {
            return;
        }

        if (invocation.Slot is { } slot)
        {
            Abandon(slot, OutcomeUnknownReason.Canceled);
            return;
        }

        waiting.Remove(invocation);
        invocation.Source.TrySetCanceled();
    }

    private void ExpireDeadlines()
    {
        var now = time.GetTimestamp();
        for (var node = waiting.First; node is not null;)
        {
            var next = node.Next;
            if (now >= node.Value.Deadline)
            {
                waiting.Remove(node);
                node.Value.Source.TrySetException(new TimeoutException(
                    $"The request could not be sent within {options.RequestTimeout.TotalSeconds:0.###} s (no session could be registered); it did not execute"));
            }

            node = next;
        }

        // Backwards, since abandoning a slot removes it from the list.
        for (var i = slots.Count - 1; i >= 0; i--)
        {
            if (slots[i].Current is { } invocation && now >= invocation.Deadline)
            {
                Abandon(slots[i], OutcomeUnknownReason.TimedOut);
            }
        }
    }

    /// <summary>Drops a session whose request's outcome is unknown; its late replies are ignored.</summary>
    private void Abandon(Slot slot, OutcomeUnknownReason reason)
    {
        slots.Remove(slot);
        slotsById.Remove(slot.Session.Id);
        if (slot.Current is { } invocation)
        {
            slot.Current = null;
            invocation.Source.TrySetException(new OutcomeUnknownException(reason, slot.Session.Id, invocation.RequestNumber));
        }
    }

    /// <summary>Gives waiting invocations to idle sessions (from a queue, not a search), registering new sessions while under the limit.</summary>
    private void Assign()
    {
        while (waiting.First is { } node)
        {
            var free = TakeIdle();
            if (free is null)
            {
                // Only while more sessions may be added: counting the registering ones walks every slot.
                if (slots.Count < options.Sessions && slots.Count(s => s.Session.State == ClientSessionState.Registering) < waiting.Count)
                {
                    AddSession();
                    continue;
                }

                return;
            }

            waiting.RemoveFirst();
            var invocation = node.Value;
            invocation.RequestNumber = free.Session.Submit(invocation.Request);
            invocation.Session = free.Session.Id;
            invocation.Slot = free;
            free.Current = invocation;
            MarkDirty(free);
        }
    }

    /// <summary>The next idle session; the queue may hold sessions abandoned or busy since they were queued, which are skipped.</summary>
    private Slot? TakeIdle()
    {
        while (idle.TryDequeue(out var slot))
        {
            if (slot.Current is null && slot.Session.State == ClientSessionState.Idle && slotsById.TryGetValue(slot.Session.Id, out var live) && live == slot)
            {
                return slot;
            }
        }

        return null;
    }

    private void AddSession()
    {
        var id = new ClientId(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) | ((UInt128)BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)) << 64));
        // The new session starts at the view the client already knows, so its registration goes to the primary.
        var session = new ClientSession(options.Cluster, endpoints.Length, id, options.ResendTicks, new View(Volatile.Read(ref knownView)));

        session.Register();
        var slot = new Slot(session);
        slots.Add(slot);
        slotsById[id] = slot;
        MarkDirty(slot);
    }

    private void MarkDirty(Slot slot)
    {
        if (!slot.Dirty)
        {
            slot.Dirty = true;
            dirty.Add(slot);
        }
    }

    /// <summary>Sends what the sessions touched since the last call have to send; the others have nothing.</summary>
    private void SendOutboxes()
    {
        foreach (var slot in dirty)
        {
            slot.Dirty = false;
            if (!slot.Session.HasOutbox || !slotsById.ContainsKey(slot.Session.Id))
            {
                continue;
            }

            outbox.Clear();
            slot.Session.TakeOutbox(outbox);
            foreach (var envelope in outbox)
            {
                OutboundFrame frame;
                try
                {
                    frame = OutboundFrame.Encode(codec, envelope.Message);
                }
                catch (ArgumentException e)
                {
                    // Never sent, so it did not execute; the session is stuck with it and is dropped.
                    slot.Current?.Source.TrySetException(new ArgumentException($"The request cannot be sent: {e.Message}", e));
                    Abandon(slot, OutcomeUnknownReason.SessionEnded);
                    break;
                }

                links[envelope.To.Value].TrySend(frame, envelope.Message is Request ? slot.Current?.Trace ?? default : default);
                frame.Release();
            }
        }

        dirty.Clear();
    }

    private void FailAll()
    {
        foreach (var slot in slots.ToList())
        {
            Abandon(slot, OutcomeUnknownReason.ClientDisposed);
        }

        foreach (var invocation in waiting)
        {
            invocation.Source.TrySetException(new ObjectDisposedException(nameof(ViewstampedClient)));
        }

        waiting.Clear();
    }

    private enum ItemKind : byte
    {
        Wake,
        Invoke,
        Reply,
        Cancel,
        Dispose,
    }

    private readonly record struct Item(ItemKind Kind, Invocation? Invocation, Reply? Reply);

    private sealed class Invocation(ViewstampedClient client, byte[] request, long started, long deadline)
    {
        public byte[] Request { get; } = request;

        public long Started { get; } = started;

        public long Deadline { get; } = deadline;

        public TaskCompletionSource<byte[]> Source { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Slot? Slot { get; set; }

        public ClientId? Session { get; set; }

        public ulong RequestNumber { get; set; }

        /// <summary>The trace context sent with the request, so that the primary's activity joins the caller's trace.</summary>
        public ActivityContext Trace { get; init; }

        /// <summary>Asks the driver loop to cancel this invocation (from the caller's cancellation token).</summary>
        public void Cancel() => client.inbox.Writer.TryWrite(new Item(ItemKind.Cancel, this, null));
    }

    private sealed class Slot(ClientSession session)
    {
        public ClientSession Session { get; } = session;

        public Invocation? Current { get; set; }

        /// <summary>Listed for the next <see cref="SendOutboxes"/>.</summary>
        public bool Dirty { get; set; }
    }
}
