using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Viewstamped.Codec;
using Viewstamped.Messages;
using Viewstamped.Runtime.Diagnostics;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;
using Viewstamped.Runtime.Transport;

namespace Viewstamped.Runtime.Host;

/// <summary>
/// Runs one replica on the network. One driver loop owns the core <see cref="Replica"/> and the
/// service: it drains a bounded inbox of messages (many per batch), adds the ticks a
/// <see cref="TimeProvider"/> timer counted, takes one <see cref="Ready"/>, persists it with one
/// write (one fsync covers the batch: group commit), and only then sends its messages to peers and
/// its replies to the client connections that asked. Nothing else touches the core or the service.
/// With <see cref="FileStorage"/> the write is asynchronous: the loop keeps stepping while the fsync
/// runs, readies taken meanwhile share the next fsync, and each Ready's messages leave, in order,
/// once it is durable.
/// </summary>
/// <remarks>
/// Peers connect over TCP: the replica with the lower index dials the higher one, so each pair
/// shares one connection, re-dialled with backoff when it drops. Clients connect to any replica and
/// send Request messages; a reply goes back on the connection the client's latest request came on.
/// Every connection authenticates first (<see cref="ClusterKey"/>); a bad frame closes only its
/// connection.
/// </remarks>
public sealed class ReplicaHost : IAsyncDisposable
{
    private const int PendingPerLink = 64;
    private const int TicksPerBatchMax = 10;
    private const int UnsentReadiesMax = 16;
    private static readonly TimeSpan inFlightStale = TimeSpan.FromSeconds(30);
    private static readonly string[] statusNames = NameStatuses();

    private readonly ReplicaHostOptions options;
    private readonly IService service;
    private readonly IReplicaStorage storage;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly IMeterFactory? meterFactory;
    private readonly Channel<InboxItem> inbox;
    private readonly ConcurrentDictionary<FrameConnection, IPAddress?> connections = new();
    private readonly Dictionary<ClientId, Route> routes = [];
    private readonly Dictionary<ClientId, PendingRequest> pendingRequests = [];
    private readonly List<(Func<ReplicaHostStatus, bool> Predicate, TaskCompletionSource<ReplicaHostStatus> Source)> waiters = [];
    private readonly Lock waitersGate = new();
    private readonly TaskCompletionSource completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConnectionLimiter limiter;
    private ClusterKey? key;
    private TlsCredentials? tls;
    private MessageCodec? codec;
    private Replica? replica;
    private Link[] links = [];
    private TransportCounters counters;
    private ReplicaMetrics? metrics;
    private AcceptorSettings? acceptor;
    private Socket? listener;
    private CancellationTokenSource? stopping;
    private ITimer? timer;
    private readonly List<Task> tasks = [];
    private readonly Queue<(Ready Ready, Task Persisted, bool Barrier)> unsent = new();
    private readonly List<Envelope> preparesAhead = [];
    private readonly List<Reply> repliesAhead = [];
    private SendAhead? sendAhead;
    private Task<Checkpoint>? checkpointWriting;
    private long checkpointStarted;

    /// <summary>When <see cref="CollectAfterLargeCheckpoint"/> last asked for a collection (0: never).</summary>
    private long collectionRequested;
    private long batchStarted;
    private ReplicaHostStatus? status;
    private long pendingTicks;
    private ulong lastView;
    private int state; // 0 new, 1 started, 2 stopped

    /// <summary>Creates a host; nothing runs until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The cluster, this replica's place in it and the limits; validated at start.</param>
    /// <param name="service">A fresh service instance for this incarnation; only the driver loop calls it.</param>
    /// <param name="storage">The replica's durable state; loaded at start, written by the driver loop.</param>
    /// <param name="loggerFactory">Where logs go; none by default.</param>
    /// <param name="timeProvider">The clock behind ticks, backoff and latencies; the system clock by default.</param>
    /// <param name="meterFactory">Creates the <c>Viewstamped</c> meter; a private meter by default.</param>
    public ReplicaHost(
        ReplicaHostOptions options,
        IService service,
        IReplicaStorage storage,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(storage);
        this.options = options;
        this.service = service;
        this.storage = storage;
        this.meterFactory = meterFactory;
        logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Viewstamped.Replica");
        time = timeProvider ?? TimeProvider.System;
        limiter = new ConnectionLimiter(options.MaxConnectionsPerAddress);
        counters = new TransportCounters(null);
        inbox = Channel.CreateBounded<InboxItem>(new BoundedChannelOptions(Math.Max(1, options.InboxCapacity))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>This replica's index.</summary>
    public ReplicaIndex Index => new((byte)options.Replica);

    /// <summary>The address the listener is bound to, once started.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>The latest snapshot of the replica; null before <see cref="StartAsync"/>.</summary>
    public ReplicaHostStatus? Status => Volatile.Read(ref status);

    /// <summary>The transport's counters.</summary>
    public TransportStatistics Statistics => counters.Snapshot();

    /// <summary>True when the replica runs without a cluster key and without TLS.</summary>
    public bool IsUnauthenticated => key is null && tls is null;

    /// <summary>Completes when the host stops; faults when the driver loop stopped on a fatal error (a failed write, a broken invariant).</summary>
    public Task Completion => completion.Task;

    /// <summary>
    /// Validates the options, loads the storage, builds the replica (restarting it from its disk when
    /// the disk holds state), binds the listener and starts the driver loop, the peer links and the tick timer.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref state, 1, 0) != 0)
        {
            throw new InvalidOperationException("A replica host starts once");
        }

        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid replica options: {string.Join("; ", errors)}");
        }

        key = options.ResolveKey();
        tls = options.ResolveTls();
        if (tls?.CheckChain(tls.Certificate) is { } ownProblem)
        {
            // Every peer would refuse it: say so at start rather than in each peer's log.
            throw new InvalidOperationException($"This replica's TLS certificate {ownProblem}");
        }

        if (tls is not null && !CertificateIdentity.Names(tls.Certificate, options.Cluster, Index))
        {
            throw new InvalidOperationException(
                $"This replica's TLS certificate is {CertificateIdentity.Describe(tls.Certificate, options.Cluster)}: a certificate of replica {Index} must carry the URI {CertificateIdentity.ReplicaUri(options.Cluster, Index)} in its subject alternative name");
        }

        if (options.Key is null && options.KeyFile is not null && ClusterKey.IsTooOpen(options.KeyFile, out var mode))
        {
            RuntimeLog.KeyFileTooOpen(logger, options.KeyFile, mode);
        }

        var endpoints = options.Replicas.Select(Endpoints.Parse).ToArray();
        codec = new MessageCodec(options.Cluster, options.MessageSizeMax);
        metrics = new ReplicaMetrics(meterFactory, options.Replica, () => inbox.Reader.Count, () => connections.Keys.Sum(c => c.QueueDepth));
        counters = new TransportCounters(metrics);
        links = Enumerable.Range(0, endpoints.Length).Select(_ => new Link(PendingPerLink, counters)).ToArray();
        acceptor = new AcceptorSettings(options.Cluster, Index, endpoints.Length, key);

        var durable = storage.Load();
        sendAhead = new SendAhead(durable);
        var seed = options.Seed ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
        replica = new Replica(options.ToReplicaOptions(seed), service, IsBlank(durable) && !options.Rejoin ? null : durable, storage as ICheckpointSink);
        Publish();

        var listenAt = await Endpoints.ResolveAsync(Endpoints.Parse(options.Listen ?? options.Replicas[options.Replica]), cancellationToken).ConfigureAwait(false);
        var socket = new Socket(listenAt.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            socket.Bind(listenAt);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            metrics.Dispose();
            throw;
        }

        listener = socket;
        LocalEndPoint = (IPEndPoint?)socket.LocalEndPoint;
        stopping = new CancellationTokenSource();
        var token = stopping.Token;
        tasks.Add(Task.Run(() => DriveAsync(token), CancellationToken.None));
        tasks.Add(Task.Run(() => AcceptLoopAsync(socket, token), CancellationToken.None));
        for (var peer = options.Replica + 1; peer < endpoints.Length; peer++)
        {
            var index = new ReplicaIndex((byte)peer);
            var endpoint = endpoints[peer];
            tasks.Add(Task.Run(() => DialPeerAsync(index, endpoint, token), CancellationToken.None));
        }

        timer = time.CreateTimer(_ => OnTimer(), null, options.TickInterval, options.TickInterval);
        inbox.Writer.TryWrite(new InboxItem(InboxKind.Wake, null, null));

        var listenName = LocalEndPoint is null ? "?" : Endpoints.Format(LocalEndPoint);
        var security = (key, tls) switch
        {
            (null, null) => "unauthenticated",
            (_, null) => $"authenticated with {key}",
            (null, _) => $"mutual {tls}",
            _ => $"mutual {tls}, authenticated with {key}",
        };
        var clusterName = StorageIdentity.FormatCluster(options.Cluster);
        RuntimeLog.ReplicaStarted(logger, options.Replica, endpoints.Length, clusterName, listenName, security);
        if (key is null && tls is null)
        {
            RuntimeLog.RunningUnauthenticated(logger, options.Replica, listenName);
        }
    }

    /// <summary>Stops the timer, the listener, every connection and the driver loop, and waits for them.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref state, 2) != 1)
        {
            return;
        }

        await ShutdownAsync(cancellationToken).ConfigureAwait(false);
        completion.TrySetResult();
        RuntimeLog.ReplicaStopped(logger, options.Replica);
    }

    /// <summary>Waits until a published status satisfies <paramref name="predicate"/> (checked at once and after every change).</summary>
    public Task<ReplicaHostStatus> WaitForStatusAsync(Func<ReplicaHostStatus, bool> predicate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var source = new TaskCompletionSource<ReplicaHostStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (waitersGate)
        {
            if (Status is { } current && predicate(current))
            {
                return Task.FromResult(current);
            }

            waiters.Add((predicate, source));
        }

        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                lock (waitersGate)
                {
                    waiters.RemoveAll(w => w.Source == source);
                }

                source.TrySetCanceled(cancellationToken);
            });
            _ = source.Task.ContinueWith(_ => registration.Dispose(), TaskScheduler.Default);
        }

        return source.Task;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>True for storage that holds nothing yet: a new replica of a new cluster.</summary>
    private static bool IsBlank(DurableState durable) =>
        durable.HardState == default && durable.Checkpoint is null && durable.Entries.Count == 0
        && durable.LogHead == OpNumber.Zero && !durable.LogDamaged;

    private async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        timer?.Dispose();
        if (stopping is not null)
        {
            await stopping.CancelAsync().ConfigureAwait(false);
        }

        listener?.Dispose();
        inbox.Writer.TryComplete();
        foreach (var connection in connections.Keys)
        {
            connection.Close("the replica is stopping");
        }

        try
        {
            await Task.WhenAll(tasks).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The loops report their own failures.
        }

        if (checkpointWriting is { } writing)
        {
            // Nothing writes to the data directory once the host has stopped; the checkpoint is lost,
            // as in a crash, and the storage deletes its file when it next opens.
            await writing.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
        }

        try
        {
            await Task.WhenAll(connections.Keys.Select(c => c.Completion)).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A connection stuck in a write to a frozen peer; its socket is closed already.
        }

        metrics?.Dispose();
        if (options.Tls is null)
        {
            tls?.Dispose(); // loaded from files at start: this host owns it
        }
    }

    private void OnTimer()
    {
        Interlocked.Increment(ref pendingTicks);
        inbox.Writer.TryWrite(new InboxItem(InboxKind.Wake, null, null));
    }

    private async Task DriveAsync(CancellationToken token)
    {
        var reader = inbox.Reader;
        try
        {
            // No token for the wait (a cancellable wait allocates each time): stopping completes the inbox, which ends the loop.
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                token.ThrowIfCancellationRequested();
                batchStarted = time.GetTimestamp();
                TakeBackCheckpoint();
                var handled = 0;
                while (handled < options.BatchMax && reader.TryRead(out var item))
                {
                    switch (item.Kind)
                    {
                        case InboxKind.Message:
                            Deliver(item.Connection, item.Message!, item.Trace);
                            handled++;
                            break;
                        case InboxKind.Closed:
                            ForgetRoutes(item.Connection!);
                            break;
                    }
                }

                var ticks = Math.Min(Interlocked.Exchange(ref pendingTicks, 0), TicksPerBatchMax);
                for (var i = 0; i < ticks; i++)
                {
                    replica!.Tick();
                }

                if (handled > 0)
                {
                    metrics!.BatchSize(handled);
                }

                Flush();
                while (unsent.Count > UnsentReadiesMax)
                {
                    await unsent.Peek().Persisted.ConfigureAwait(false);
                    SendPersisted();
                }

                Publish();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            RuntimeLog.ReplicaFailed(logger, options.Replica, e);
            completion.TrySetException(e);
            if (Interlocked.Exchange(ref state, 2) == 1)
            {
                _ = Task.Run(() => ShutdownAsync(CancellationToken.None), CancellationToken.None);
            }
        }
    }

    private void Deliver(FrameConnection? from, Message message, ActivityContext trace)
    {
        var core = replica!;
        if (message is Request request && from is not null)
        {
            var now = time.GetTimestamp();
            routes[request.Client] = new Route(from, now);
            if (routes.Count > 2 * options.ClientsMax + 1024)
            {
                PruneRoutes(now);
            }

            if (pendingRequests.Count >= options.ClientsMax)
            {
                PrunePendingRequests(now);
            }

            if (request.Kind == RequestKind.Operation && core.IsPrimary && core.Status == ReplicaStatus.Normal
                && pendingRequests.Count < options.ClientsMax
                && (!pendingRequests.TryGetValue(request.Client, out var pending) || pending.RequestNumber != request.RequestNumber))
            {
                pendingRequests[request.Client] = new PendingRequest(
                    request.RequestNumber, now, ReplicaMetrics.StartRequestActivity(request.Client, request.RequestNumber, options.Replica, trace));
            }
        }

        core.Step(message);
    }

    /// <summary>
    /// Takes the batch's Ready and starts persisting it: with <see cref="FileStorage"/> asynchronously
    /// (the driver keeps stepping while the fsync runs, and readies taken meanwhile share the next
    /// fsync), with any other storage synchronously. Then sends, in order, every Ready whose
    /// persistence completed: a Ready's messages never leave before its state is durable.
    /// </summary>
    private void Flush()
    {
        var core = replica!;
        if (core.HasReady)
        {
            var ready = core.TakeReady();
            if (ready.Snapshot is { } snapshot)
            {
                WriteCheckpointBeside(snapshot);
            }

            var persisted = Task.CompletedTask;
            var barrier = false;
            if (ready.HardState is not null || ready.LogChanges.Count > 0 || ready.Checkpoint is not null || ready.CompactBefore is not null)
            {
                var started = time.GetTimestamp();
                if (storage is FileStorage file)
                {
                    persisted = file.PersistAsync(ready).AsTask();
                    if (!persisted.IsCompleted)
                    {
                        _ = persisted.ContinueWith(
                            _ =>
                            {
                                metrics!.PersistDuration(time.GetElapsedTime(started).TotalSeconds);
                                inbox.Writer.TryWrite(new InboxItem(InboxKind.Wake, null, null));
                            },
                            CancellationToken.None,
                            TaskContinuationOptions.ExecuteSynchronously,
                            TaskScheduler.Default);
                    }
                }
                else
                {
                    storage.Persist(ready);
                    metrics!.PersistDuration(time.GetElapsedTime(started).TotalSeconds);
                }

                // Send what completed writes already allow before queueing this Ready, whose Prepares
                // and replies for durable ops need not wait for its own fsync; SendAhead says why.
                SendPersisted();
                barrier = sendAhead!.Queue(ready, core.IsPrimary && core.Status == ReplicaStatus.Normal, !persisted.IsCompleted, preparesAhead, repliesAhead);
                SendAheadOfDurability();
            }

            unsent.Enqueue((ready, persisted, barrier));
        }

        SendPersisted();
    }

    /// <summary>
    /// Writes a checkpoint the replica handed out on a thread of its own, so the loop goes on stepping
    /// meanwhile (the core allows one at a time); <see cref="TakeBackCheckpoint"/> hands it back on the
    /// loop once written. With <see cref="FileStorage"/> the file's data is also synced there, so the
    /// log writer later syncs only its header. Not a thread-pool thread: a large checkpoint blocks its
    /// thread for a second or more (writing and syncing 100 MB), and on a two-core machine the pool has
    /// two threads before it injects more, slowly, while the loop, the connections and the timer wait.
    /// </summary>
    private void WriteCheckpointBeside(CheckpointSnapshot snapshot)
    {
        Invariant.That(checkpointWriting is null, "one checkpoint written at a time");
        checkpointStarted = time.GetTimestamp();
        var batch = time.GetElapsedTime(batchStarted, checkpointStarted);
        RuntimeLog.CheckpointTaken(logger, options.Replica, snapshot.Op.Value, batch.TotalMilliseconds);
        checkpointWriting = Task.Factory.StartNew(
            () =>
            {
                var checkpoint = snapshot.Write();
                FileStorage.SyncWritten(checkpoint);
                return checkpoint;
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        _ = checkpointWriting.ContinueWith(
            _ => inbox.Writer.TryWrite(new InboxItem(InboxKind.Wake, null, null)),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Hands a checkpoint written beside the loop back to the replica; a failed write is fatal, as any failed write is.</summary>
    private void TakeBackCheckpoint()
    {
        if (checkpointWriting is not { IsCompleted: true } writing)
        {
            return;
        }

        checkpointWriting = null;
        var checkpoint = writing.GetAwaiter().GetResult();
        var (op, bytes, took) = (checkpoint.Op.Value, checkpoint.State.Length, time.GetElapsedTime(checkpointStarted));
        RuntimeLog.CheckpointWritten(logger, options.Replica, op, bytes, took.TotalMilliseconds);
        replica!.CheckpointWritten(checkpoint);
        CollectAfterLargeCheckpoint(op, bytes);
    }

    /// <summary>
    /// A large checkpoint, once handed back, lets go of the log before it: entries that lived long enough
    /// to reach the collector's oldest generation, tens of MB under load, which the collector would
    /// otherwise keep (and keep memory committed for) until its own budget for that generation runs out.
    /// So the host asks for a background full collection then, at most once a second: it runs beside the
    /// loop, and marking is cheap because a large state is held in few large arrays.
    /// </summary>
    private void CollectAfterLargeCheckpoint(ulong op, long bytes)
    {
        var threshold = options.CollectAfterCheckpointBytes;
        if (threshold == 0 || bytes < threshold || (collectionRequested != 0 && time.GetElapsedTime(collectionRequested) < TimeSpan.FromSeconds(1)))
        {
            return;
        }

        collectionRequested = time.GetTimestamp();
        RuntimeLog.CollectionRequested(logger, options.Replica, op, bytes);
        GC.Collect(2, GCCollectionMode.Forced, blocking: false);
    }

    private void SendAheadOfDurability()
    {
        if (preparesAhead.Count > 0)
        {
            SendMessages(preparesAhead);
            preparesAhead.Clear();
        }

        if (repliesAhead.Count > 0)
        {
            SendReplies(repliesAhead);
            repliesAhead.Clear();
        }
    }

    private void SendPersisted()
    {
        while (unsent.TryPeek(out var head) && head.Persisted.IsCompleted)
        {
            unsent.Dequeue();
            head.Persisted.GetAwaiter().GetResult(); // a failed write is fatal: nothing it vouches for may leave
            if (sendAhead!.Durable(head.Ready, head.Barrier))
            {
                foreach (var later in unsent)
                {
                    if (!sendAhead.TakeDurableReplies(later.Ready, later.Barrier, repliesAhead))
                    {
                        break;
                    }
                }
            }

            Send(head.Ready);
            SendAheadOfDurability();

            // Persisted (storage keeps no reference to it) and sent (each message encoded into its own
            // frame): nothing refers to the Ready any more, so the replica may fill it again.
            replica!.Recycle(head.Ready);
        }
    }

    private void Send(Ready ready)
    {
        SendMessages(ready.Messages);
        SendReplies(ready.Replies);
    }

    private void SendReplies(List<Reply> replies)
    {
        foreach (var reply in replies)
        {
            Answered(reply);
            if (!routes.TryGetValue(reply.Client, out var route) || route.Connection.IsClosed)
            {
                counters.DroppedFrame("no_route");
                continue;
            }

            if (Encode(reply) is { } replyFrame)
            {
                route.Connection.TrySend(replyFrame);
                replyFrame.Release();
            }

            (route.Connection.State as ClientConnectionState)?.Done(reply.Client);
        }
    }

    /// <summary>
    /// Encodes each message once, into a pooled buffer (a message for several peers is one object),
    /// and queues it on each peer's link; the buffer goes back to the pool once every link wrote it.
    /// </summary>
    private void SendMessages(List<Envelope> envelopes)
    {
        Message? encoded = null;
        OutboundFrame? frame = null;
        foreach (var envelope in envelopes)
        {
            if (!ReferenceEquals(envelope.Message, encoded))
            {
                frame?.Release();
                encoded = envelope.Message;
                frame = Encode(encoded);
            }

            if (frame is not null && envelope.To.Value < links.Length)
            {
                links[envelope.To.Value].TrySend(frame);
            }
        }

        frame?.Release();
    }

    private void Answered(Reply reply)
    {
        if (pendingRequests.Remove(reply.Client, out var pending))
        {
            if (pending.RequestNumber == reply.RequestNumber)
            {
                var statusName = StatusName(reply.Status);
                metrics!.RequestDuration(time.GetElapsedTime(pending.Started).TotalSeconds, statusName);
                pending.Activity?.SetTag(ViewstampedTelemetry.StatusTag, statusName);
                pending.Activity?.SetTag("vsr.op", reply.Op.Value);
                pending.Activity?.Stop();
            }
            else
            {
                pending.Activity?.Stop();
            }
        }
    }

    /// <summary>The status as a metric tag, looked up once: <see cref="Enum.ToString()"/> would box on every reply.</summary>
    private static string StatusName(ReplyStatus status) => statusNames[(byte)status] ?? status.ToString();

    private static string[] NameStatuses()
    {
        var names = new string[byte.MaxValue + 1];
        foreach (var status in Enum.GetValues<ReplyStatus>())
        {
            names[(byte)status] = status.ToString();
        }

        return names;
    }

    private OutboundFrame? Encode(Message message)
    {
        try
        {
            return OutboundFrame.Encode(codec!, message);
        }
        catch (ArgumentException e)
        {
            RuntimeLog.EncodeFailed(logger, message.Command, e.Message);
            counters.DroppedFrame("unencodable");
            return null;
        }
    }

    private void Publish()
    {
        var core = replica!;
        var previous = Volatile.Read(ref status);
        if (previous is not null && previous.View == core.View && previous.Status == core.Status && previous.Op == core.Op
            && previous.CommitNumber == core.CommitNumber && previous.ExecutedOp == core.ExecutedOp && previous.CheckpointOp == core.CheckpointOp)
        {
            return;
        }

        var next = new ReplicaHostStatus(
            core.Index, core.Status, core.View, core.IsPrimary, core.Op, core.CommitNumber, core.ExecutedOp, core.CheckpointOp,
            core.ViewChangesCompleted, core.IgnoredMessages);
        Volatile.Write(ref status, next);
        Volatile.Write(ref lastView, core.View.Value);
        if (previous is not null)
        {
            metrics?.Commits((long)(next.CommitNumber.Value - Math.Min(next.CommitNumber.Value, previous.CommitNumber.Value)));
            metrics?.ViewChanges(next.ViewChangesCompleted - previous.ViewChangesCompleted);
        }

        if (previous is null || previous.View != next.View || previous.Status != next.Status)
        {
            var primary = (int)(next.View.Value % (ulong)core.Options.ReplicaCount);
            RuntimeLog.StatusChanged(logger, options.Replica, next.Status, next.View.Value, primary);
        }

        List<TaskCompletionSource<ReplicaHostStatus>>? satisfied = null;
        lock (waitersGate)
        {
            for (var i = waiters.Count - 1; i >= 0; i--)
            {
                if (waiters[i].Predicate(next))
                {
                    (satisfied ??= []).Add(waiters[i].Source);
                    waiters.RemoveAt(i);
                }
            }
        }

        satisfied?.ForEach(s => s.TrySetResult(next));
    }

    /// <summary>Forgets requests whose reply never came here (a view change dropped them), so latency tracking goes on.</summary>
    private void PrunePendingRequests(long now)
    {
        foreach (var (client, pending) in pendingRequests.ToList())
        {
            if (time.GetElapsedTime(pending.Started, now) > inFlightStale)
            {
                pending.Activity?.Stop();
                pendingRequests.Remove(client);
            }
        }
    }

    private void ForgetRoutes(FrameConnection connection)
    {
        List<ClientId>? gone = null;
        foreach (var (client, route) in routes)
        {
            if (route.Connection == connection)
            {
                (gone ??= []).Add(client);
            }
        }

        gone?.ForEach(client => routes.Remove(client));
    }

    private void PruneRoutes(long now)
    {
        var cutoff = TimeSpan.FromSeconds(60);
        var stale = routes.Where(r => r.Value.Connection.IsClosed || time.GetElapsedTime(r.Value.LastUsed, now) > cutoff).Select(r => r.Key).ToList();
        stale.ForEach(client => routes.Remove(client));
    }

    private async Task AcceptLoopAsync(Socket socket, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await socket.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            _ = Task.Run(() => AcceptOneAsync(accepted, token), CancellationToken.None);
        }
    }

    private async Task AcceptOneAsync(Socket socket, CancellationToken token)
    {
        Dialer.Tune(socket);
        var remoteEndPoint = socket.RemoteEndPoint as IPEndPoint;
        var remote = remoteEndPoint?.ToString() ?? "?";
        var address = remoteEndPoint?.Address ?? IPAddress.None;
        var acquired = limiter.TryAcquire(address);
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        X509Certificate2? certificate = null;
        HandshakeResult result;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            timeout.CancelAfter(options.HandshakeTimeout);
            if (tls is not null)
            {
                var ssl = await tls.AcceptAsync(stream, timeout.Token).ConfigureAwait(false);
                stream = ssl;
                certificate = ssl.RemoteCertificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.GetRawCertData());
            }

            var refusal = !acquired ? HandshakeStatus.TooManyConnections : HandshakeStatus.Ok;
            result = await Handshake.AcceptAsync(stream, acceptor!, refusal, certificate, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HandshakeException or OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            var (code, reason) = e switch
            {
                HandshakeException refused => (refused.Code, refused.Message),
                TlsRefusedException refused => (Handshake.Code(HandshakeStatus.TlsRefused), refused.Message),
                OperationCanceledException when token.IsCancellationRequested => ("shutting_down", "the replica is stopping"),
                OperationCanceledException => ("handshake_timeout", $"no complete handshake within {options.HandshakeTimeout.TotalSeconds:0.#} s"),
                _ => ("handshake_io", $"the connection failed during the handshake: {e.Message}"),
            };
            counters.RefusedConnection(code);
            RuntimeLog.ConnectionRefused(logger, remote, reason);
            await stream.DisposeAsync().ConfigureAwait(false);
            socket.Dispose();
            if (acquired)
            {
                limiter.Release(address);
            }

            return;
        }

        var connection = new FrameConnection(socket, stream, result, codec!, options.SendQueueCapacity, counters, logger);
        connections[connection] = acquired ? address : null;
        if (result.RemoteRole == PeerRole.Replica)
        {
            links[result.RemoteReplica.Value].Attach(connection)?.Close("replaced by a newer connection from the same replica");
            RuntimeLog.PeerConnected(logger, result.RemoteReplica.Value, remote);
        }
        else
        {
            connection.State = new ClientConnectionState(options.MaxInFlightPerConnection);
            RuntimeLog.ClientConnected(logger, remote);
        }

        Watch(connection, token);
        connection.Start(OnMessageAsync);
        if (token.IsCancellationRequested)
        {
            connection.Close("the replica is stopping");
        }
    }

    private async Task DialPeerAsync(ReplicaIndex peer, EndPoint endpoint, CancellationToken token)
    {
        var plan = new DialPlan(endpoint, options.ConnectTimeout, options.HandshakeTimeout, options.ReconnectDelayMin, options.ReconnectDelayMax, time, tls, new TlsPeer(options.Cluster, peer));
        var name = $"replica {peer} at {Endpoints.Format(endpoint)}";
        string? lastRefusal = null;
        await Dialer.KeepConnectedAsync(
            plan,
            (stream, ct) => Handshake.InitiateAsync(stream, options.Cluster, PeerRole.Replica, Index, peer, key, traceContext: false, ct),
            (socket, stream, result) =>
            {
                lastRefusal = null;
                var connection = new FrameConnection(socket, stream, result, codec!, options.SendQueueCapacity, counters, logger);
                connections[connection] = null;
                links[peer.Value].Attach(connection)?.Close("replaced by a newer connection");
                RuntimeLog.PeerConnected(logger, peer.Value, connection.Remote);
                Watch(connection, token);
                connection.Start(OnMessageAsync);
                return connection;
            },
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

    private void Watch(FrameConnection connection, CancellationToken token) =>
        _ = connection.Completion.ContinueWith(
            _ =>
            {
                connections.TryRemove(connection, out var address);
                if (address is not null)
                {
                    limiter.Release(address);
                }

                if (connection.RemoteRole == PeerRole.Replica)
                {
                    links[connection.RemoteReplica.Value].Detach(connection);
                    if (!token.IsCancellationRequested)
                    {
                        RuntimeLog.PeerDisconnected(logger, connection.RemoteReplica.Value, connection.Remote);
                    }
                }
                else
                {
                    inbox.Writer.TryWrite(new InboxItem(InboxKind.Closed, connection, null));
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    private async ValueTask<string?> OnMessageAsync(FrameConnection connection, Message message, ActivityContext trace)
    {
        if (connection.RemoteRole == PeerRole.Replica)
        {
            if (message.Sender != connection.RemoteReplica)
            {
                return $"replica {connection.RemoteReplica} sent a {message.Command} as replica {message.Sender}";
            }

            if (message is Request or Reply)
            {
                return $"replica {connection.RemoteReplica} sent a {message.Command}, which only clients and replies to clients carry";
            }
        }
        else
        {
            if (message is not Request request)
            {
                return $"a client sent a {message.Command}; clients send only requests";
            }

            if (message.Sender != ReplicaIndex.None)
            {
                return $"a client's request claims to come from replica {message.Sender}";
            }

            var tracker = (ClientConnectionState)connection.State!;
            if (!tracker.TryStart(request.Client, time))
            {
                counters.RejectedRequest("in_flight_limit");
                RuntimeLog.RequestRefused(logger, connection.Remote, options.MaxInFlightPerConnection);

                var busy = new Reply(request.Client, request.RequestNumber, ReplyStatus.Busy, OpNumber.Zero, [])
                {
                    Header = new MessageHeader(options.Cluster, 0, new View(Volatile.Read(ref lastView)), Index),
                };
                connection.TrySend(codec!.Encode(busy));
                return null;
            }
        }

        await inbox.Writer.WriteAsync(new InboxItem(InboxKind.Message, connection, message, trace)).ConfigureAwait(false);
        return null;
    }

    private enum InboxKind : byte
    {
        Wake,
        Message,
        Closed,
    }

    private readonly record struct InboxItem(InboxKind Kind, FrameConnection? Connection, Message? Message, ActivityContext Trace = default);

    private readonly record struct Route(FrameConnection Connection, long LastUsed);

    private readonly record struct PendingRequest(ulong RequestNumber, long Started, Activity? Activity);

    /// <summary>The sessions with a request in flight on one client connection.</summary>
    private sealed class ClientConnectionState(int max)
    {
        private readonly Dictionary<ClientId, long> inFlight = [];
        private readonly Lock gate = new();

        public bool TryStart(ClientId client, TimeProvider time)
        {
            var now = time.GetTimestamp();
            lock (gate)
            {
                if (!inFlight.ContainsKey(client) && inFlight.Count >= max)
                {
                    foreach (var (stale, started) in inFlight.ToList())
                    {
                        if (time.GetElapsedTime(started, now) > inFlightStale)
                        {
                            inFlight.Remove(stale);
                        }
                    }

                    if (inFlight.Count >= max)
                    {
                        return false;
                    }
                }

                inFlight[client] = now;
                return true;
            }
        }

        public void Done(ClientId client)
        {
            lock (gate)
            {
                inFlight.Remove(client);
            }
        }
    }
}
