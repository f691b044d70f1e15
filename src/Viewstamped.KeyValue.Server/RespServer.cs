using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
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
        using var closing = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
        var stream = new NetworkStream(socket, ownsSocket: true);
        var queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(options.MaxPipelinedCommands)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        var connection = new ConnectionState(id, connectionOptions, socket.RemoteEndPoint?.ToString());
        try
        {
            var replies = WriteRepliesAsync(stream, queue.Reader, closing);
            try
            {
                await ReadCommandsAsync(stream, connection, queue.Writer, closing.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or ChannelClosedException)
            {
                // The peer went away, the writer stopped, or the server is stopping.
            }
            finally
            {
                queue.Writer.TryComplete();
            }

            await replies.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "RESP connection {Id} failed", id);
        }
        finally
        {
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

    private async Task ReadCommandsAsync(Stream stream, ConnectionState connection, ChannelWriter<Pending> queue, CancellationToken token)
    {
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        var reader = new RespReader(connection.ReaderOptions(options.ReaderOptions));
        var authenticated = connection.Authenticated;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var stop = false;
                while (!stop)
                {
                    if (connection.Authenticated != authenticated)
                    {
                        authenticated = connection.Authenticated;
                        reader.Options = connection.ReaderOptions(options.ReaderOptions);
                    }

                    var read = reader.TryRead(ref buffer, out var command, out var error);
                    if (read == RespReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (read == RespReadStatus.ProtocolError)
                    {
                        await queue.WriteAsync(new Pending(Resp.Error(error ?? "ERR Protocol error"), null, Close: true), token).ConfigureAwait(false);
                        stop = true;
                        break;
                    }

                    var outcome = connection.Process(command!);
                    switch (outcome.Action)
                    {
                        case CommandAction.Replicate:
                            await queue.WriteAsync(new Pending(null, outcome.Operation, Close: false), token).ConfigureAwait(false);
                            break;
                        case CommandAction.ReplyAndClose:
                            await queue.WriteAsync(new Pending(outcome.Reply, null, Close: true), token).ConfigureAwait(false);
                            stop = true;
                            break;
                        default:
                            await queue.WriteAsync(new Pending(outcome.Reply, null, Close: false), token).ConfigureAwait(false);
                            break;
                    }
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (stop || result.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task WriteRepliesAsync(Stream stream, ChannelReader<Pending> queue, CancellationTokenSource closing)
    {
        var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
        var batch = new List<byte[]>();
        try
        {
            while (await queue.WaitToReadAsync(closing.Token).ConfigureAwait(false))
            {
                while (queue.TryRead(out var pending))
                {
                    if (pending.Operation is { } operation)
                    {
                        // The replicated commands read so far go out together, in one log entry with
                        // the runs of other connections waiting meanwhile: one round through the
                        // protocol answers the whole run, in order.
                        TakeRun(queue, operation, batch);
                        output.Write(await batcher.ReplicateAsync(batch).WaitAsync(closing.Token).ConfigureAwait(false));
                    }
                    else
                    {
                        output.Write(pending.Reply!);
                    }

                    if (pending.Close)
                    {
                        await output.FlushAsync(closing.Token).ConfigureAwait(false);
                        return;
                    }

                    if (output.UnflushedBytes >= 64 << 10)
                    {
                        await output.FlushAsync(closing.Token).ConfigureAwait(false);
                    }
                }

                await output.FlushAsync(closing.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The peer went away or the server is stopping.
        }
        finally
        {
            // Stops the reader too: nothing more will be answered on this connection.
            await closing.CancelAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts a run with <paramref name="first"/> and adds the replicated commands queued right behind
    /// it, up to <see cref="RespServerOptions.BatchMax"/> commands and <see cref="RespServerOptions.BatchBytesMax"/> bytes.
    /// </summary>
    private void TakeRun(ChannelReader<Pending> queue, byte[] first, List<byte[]> run)
    {
        run.Clear();
        run.Add(first);
        var bytes = (long)first.Length;
        while (run.Count < options.BatchMax && queue.TryPeek(out var next) && next.Operation is { } operation
               && bytes + operation.Length <= options.BatchBytesMax)
        {
            queue.TryRead(out _);
            run.Add(operation);
            bytes += operation.Length;
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
        };
    }

    private readonly record struct Pending(byte[]? Reply, byte[]? Operation, bool Close);
}
