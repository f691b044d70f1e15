using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Viewstamped.Runtime.Client;
using Viewstamped.Runtime.Host;

namespace Viewstamped.KeyValue.Server;

/// <summary>
/// A RESP2 (Redis protocol) TCP front end for the replicated key-value service: each connection
/// gets a <see cref="RespReader"/> and a <see cref="ConnectionState"/>; local commands are answered
/// here and key-value commands go through a shared <see cref="ViewstampedClient"/>, which finds the
/// primary, so a server on any replica serves the whole cluster.
/// </summary>
/// <remarks>
/// Replies keep request order. A connection's replicated commands are submitted one run at a time:
/// the commands queued behind each other go out together, executed in order, so a pipelined GET
/// after a SET sees the SET. Runs of different connections share log entries: a
/// <see cref="ReplicationBatcher"/> keeps a few batches in flight and puts every run that waits
/// meanwhile into the next one. A malformed
/// stream gets <c>-ERR Protocol error...</c> and closes that connection only.
/// </remarks>
public sealed class RespServer : IAsyncDisposable
{
    private readonly RespServerOptions options;
    private readonly ViewstampedClient client;
    private readonly Func<ReplicaHostStatus?> status;
    private readonly ILogger logger;
    private readonly ConnectionOptions connectionOptions;
    private readonly ReplicationBatcher batcher;
    private readonly MemorySampler memory;
    private readonly ConcurrentDictionary<long, Socket> sockets = new();
    private readonly ConcurrentDictionary<long, Task> connections = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Stopwatch uptime = Stopwatch.StartNew();
    private readonly string version = typeof(RespServer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
    private Socket? listener;
    private Task? acceptLoop;
    private long nextId;
    private int open;
    private int state; // 0 new, 1 started, 2 stopped

    /// <summary>Creates a server; nothing listens until <see cref="Start"/>.</summary>
    /// <param name="options">Where to listen, the password and the limits.</param>
    /// <param name="client">The cluster's client, shared by every connection; the caller disposes it.</param>
    /// <param name="status">The local replica's latest status for INFO (e.g. <c>() =&gt; host.Status</c>); null values show as starting.</param>
    /// <param name="logger">Where logs go; none by default.</param>
    public RespServer(RespServerOptions options, ViewstampedClient client, Func<ReplicaHostStatus?> status, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(status);
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", errors), nameof(options));
        }

        this.options = options;
        this.client = client;
        this.status = status;
        this.logger = logger ?? NullLogger.Instance;
        connectionOptions = new ConnectionOptions { RequirePass = options.RequirePass, Info = BuildInfo };
        batcher = new ReplicationBatcher(client.InvokeAsync, options, stopping.Token);
        memory = new MemorySampler(options.DatasetBytes);
    }

    /// <summary>The bound address, once started.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Connections open now.</summary>
    public int ConnectionCount => Volatile.Read(ref open);

    /// <summary>Binds the listener and starts accepting connections.</summary>
    public void Start()
    {
        if (Interlocked.CompareExchange(ref state, 1, 0) != 0)
        {
            throw new InvalidOperationException("the server was already started");
        }

        var socket = new Socket(options.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(options.EndPoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        listener = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        acceptLoop = Task.Run(AcceptAsync);
    }

    /// <summary>Stops listening, closes every connection and waits for them to finish.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref state, 2) != 1)
        {
            return;
        }

        await stopping.CancelAsync().ConfigureAwait(false);
        listener?.Dispose();
        foreach (var socket in sockets.Values)
        {
            socket.Dispose();
        }

        if (acceptLoop is not null)
        {
            await acceptLoop.ConfigureAwait(false);
        }

        await Task.WhenAll(connections.Values).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        var token = stopping.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener!.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (token.IsCancellationRequested)
                {
                    return;
                }

                logger.LogWarning(e, "RESP accept failed");
                continue;
            }

            socket.NoDelay = true;
            var id = Interlocked.Increment(ref nextId);
            if (Interlocked.Increment(ref open) > options.MaxConnections)
            {
                Interlocked.Decrement(ref open);
                _ = RejectAsync(socket);
                continue;
            }

            sockets[id] = socket;
            connections[id] = Task.Run(() => RunConnectionAsync(id, socket));
        }
    }

    private static async Task RejectAsync(Socket socket)
    {
        try
        {
            await socket.SendAsync(Resp.Error("ERR max number of clients reached")).ConfigureAwait(false);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    private async Task RunConnectionAsync(long id, Socket socket)
    {
        var stream = new NetworkStream(socket, ownsSocket: true);
        var connection = new ConnectionState(id, connectionOptions, socket.RemoteEndPoint?.ToString());
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        try
        {
            await ServeAsync(connection, input, output, stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The peer went away or the server is stopping.
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "RESP connection {Id} failed", id);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }

            await stream.DisposeAsync().ConfigureAwait(false);
            sockets.TryRemove(id, out _);
            connections.TryRemove(id, out _);
            Interlocked.Decrement(ref open);
        }
    }

    /// <summary>
    /// Serves one connection: reads what arrived, answers local commands into the output and gathers
    /// the replicated ones into a run, replicates the run, and sends every reply of the read with one
    /// flush. Replies keep request order: a local command behind replicated ones waits for their run.
    /// </summary>
    private async Task ServeAsync(ConnectionState connection, PipeReader input, PipeWriter output, CancellationToken token)
    {
        var reader = new RespReader(connection.ReaderOptions(options.ReaderOptions));
        var authenticated = connection.Authenticated;
        var run = new ReplicationRun();
        var runMax = Math.Min(options.BatchMax, options.MaxPipelinedCommands);
        var ranges = new Range[8];
        while (true)
        {
            var result = await input.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            var close = false;
            while (!close)
            {
                if (connection.Authenticated != authenticated)
                {
                    authenticated = connection.Authenticated;
                    reader.Options = connection.ReaderOptions(options.ReaderOptions);
                }

                if (TakeWhole(ref buffer, reader, connection, run.Operations, runMax, ref ranges))
                {
                    await ReplicateAsync(run, output).ConfigureAwait(false);
                    continue;
                }

                var read = reader.TryRead(ref buffer, out var command, out var error);
                if (read == RespReadStatus.NeedMoreData)
                {
                    break;
                }

                if (read == RespReadStatus.ProtocolError)
                {
                    await ReplicateAsync(run, output).ConfigureAwait(false);
                    output.Write(Resp.Error(error ?? "ERR Protocol error"));
                    close = true;
                    break;
                }

                var outcome = connection.Process(command!);
                if (outcome.Action == CommandAction.Replicate)
                {
                    // A command past the run's byte limit goes in a run of its own.
                    if (run.Operations.Count > 0 && run.Operations.Length + OperationRun.ItemLength(outcome.Operation.Length) > options.BatchBytesMax)
                    {
                        await ReplicateAsync(run, output).ConfigureAwait(false);
                    }

                    run.Operations.Add(outcome.Operation);
                    if (run.Operations.Count >= runMax)
                    {
                        await ReplicateAsync(run, output).ConfigureAwait(false);
                    }

                    continue;
                }

                await ReplicateAsync(run, output).ConfigureAwait(false);
                output.Write(outcome.Reply);
                close = outcome.Action == CommandAction.ReplyAndClose;
                if (output.UnflushedBytes >= 64 << 10)
                {
                    await output.FlushAsync(token).ConfigureAwait(false);
                }
            }

            await ReplicateAsync(run, output).ConfigureAwait(false);
            input.AdvanceTo(buffer.Start, buffer.End);
            if (output.UnflushedBytes > 0)
            {
                await output.FlushAsync(token).ConfigureAwait(false);
            }

            if (close || result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>
    /// The common case, without copying a command out of the stream: takes the replicated commands at
    /// the start of <paramref name="buffer"/> that arrived whole into <paramref name="run"/>, encoding
    /// each straight from the received bytes, and stops at anything else (a local command, a partial
    /// or malformed request), which <see cref="RespReader.TryRead"/> and <see cref="ConnectionState.Process"/>
    /// then handle as usual.
    /// </summary>
    /// <returns>True when the run is full: replicate it before reading on.</returns>
    private bool TakeWhole(ref ReadOnlySequence<byte> buffer, RespReader reader, ConnectionState connection, OperationRun run, int runMax, ref Range[] ranges)
    {
        var span = buffer.FirstSpan;
        var at = 0;
        var full = false;
        while (true)
        {
            if (run.Count >= runMax)
            {
                full = true;
                break;
            }

            var rest = span[at..];
            var length = reader.TryReadWhole(rest, ref ranges, out var count);
            if (length == 0)
            {
                break;
            }

            var request = rest[..length];
            var arguments = ranges.AsSpan(0, count);
            if (!connection.TryGetReplicated(request, arguments, out var code))
            {
                break;
            }

            // A command past the run's byte limit goes in a run of its own.
            if (run.Count > 0 && run.Length + OperationRun.ItemLength((int)KeyValueOperation.SizeOf(request, arguments)) > options.BatchBytesMax)
            {
                full = true;
                break;
            }

            run.Add(code, request, arguments);
            at += length;
        }

        buffer = buffer.Slice(at);
        return full;
    }

    /// <summary>
    /// Replicates the commands gathered in <paramref name="run"/>, if any, in one log entry with the
    /// runs of other connections waiting meanwhile, and writes their replies.
    /// </summary>
    private async ValueTask ReplicateAsync(ReplicationRun run, PipeWriter output)
    {
        if (run.Operations.Count == 0)
        {
            return;
        }

        batcher.Submit(run);
        try
        {
            output.Write((await run.Replies.ConfigureAwait(false)).Span);
        }
        finally
        {
            run.Reset();
        }
    }

    private ServerInfo BuildInfo()
    {
        var current = status();
        var view = current?.View.Value ?? 0;
        var primary = (int)(view % (ulong)options.ReplicaCount);
        string? primaryHost = null;
        var primaryPort = 0;
        if (options.RespEndpoints.Count == options.ReplicaCount)
        {
            var endpoint = options.RespEndpoints[primary];
            var colon = endpoint.LastIndexOf(':');
            if (colon > 0 && int.TryParse(endpoint.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port))
            {
                primaryHost = endpoint[..colon].Trim('[', ']');
                primaryPort = port;
            }
        }

        return new ServerInfo
        {
            ServerVersion = version,
            ProcessId = Environment.ProcessId,
            TcpPort = LocalEndPoint?.Port ?? 0,
            UptimeSeconds = (long)uptime.Elapsed.TotalSeconds,
            ConnectedClients = ConnectionCount,
            IsPrimary = current?.IsPrimary ?? false,
            Status = current is null ? "starting" : current.Status.ToString().ToLowerInvariant(),
            ReplicaIndex = current?.Replica.Value ?? 0,
            ReplicaCount = options.ReplicaCount,
            PrimaryIndex = primary,
            PrimaryHost = primaryHost,
            PrimaryPort = primaryPort,
            View = view,
            Op = current?.Op.Value ?? 0,
            Commit = current?.CommitNumber.Value ?? 0,
            Checkpoint = current?.CheckpointOp.Value ?? 0,
            Memory = memory.Sample(),
        };
    }
}
