using System.Net;
using System.Net.Sockets;
using Viewstamped.Runtime.Security;

namespace Viewstamped.Runtime.Transport;

/// <summary>How one outbound connection is kept up.</summary>
internal sealed record DialPlan(
    EndPoint EndPoint,
    TimeSpan ConnectTimeout,
    TimeSpan HandshakeTimeout,
    TimeSpan BackoffMin,
    TimeSpan BackoffMax,
    TimeProvider Time,
    TlsCredentials? Tls = null,
    TlsPeer? TlsPeer = null);

/// <summary>
/// Keeps one outbound connection up: connect, run TLS when configured, handshake, hand the connection over, wait until it
/// closes, back off (exponentially, with jitter, reset after a connection that lasted) and retry,
/// until cancelled.
/// </summary>
internal static class Dialer
{
    /// <summary>
    /// The TLS server name a dialer asks for. Certificates are checked against the cluster's
    /// authority, not against host names, so any fixed name does.
    /// </summary>
    public const string TlsTargetHost = "viewstamped";

    /// <summary>
    /// No Nagle delay (frames are small and latency-bound), and TCP keep-alive probes after 5 s of
    /// silence so a peer whose host vanished without closing its sockets is noticed within ~10 s.
    /// </summary>
    public static void Tune(Socket socket)
    {
        socket.NoDelay = true;
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 5);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 5);
        }
        catch (SocketException)
        {
            // Keep-alive tuning is best effort; not every platform takes every option.
        }
    }

    public static async Task KeepConnectedAsync(
        DialPlan plan,
        Func<Stream, CancellationToken, Task<HandshakeResult>> handshake,
        Func<Socket, Stream, HandshakeResult, FrameConnection> onConnected,
        Action<HandshakeException> onRefused,
        Action<string> onFailed,
        CancellationToken cancellationToken)
    {
        var delay = plan.BackoffMin;
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket? socket = null;
            Stream? stream = null;
            try
            {
                socket = plan.EndPoint is IPEndPoint ip
                    ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
                    : new Socket(SocketType.Stream, ProtocolType.Tcp);
                Tune(socket);
                using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    connectTimeout.CancelAfter(plan.ConnectTimeout);
                    await socket.ConnectAsync(plan.EndPoint, connectTimeout.Token).ConfigureAwait(false);
                }

                stream = new NetworkStream(socket, ownsSocket: false);
                HandshakeResult result;
                using (var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    handshakeTimeout.CancelAfter(plan.HandshakeTimeout);
                    if (plan.Tls is { } tls)
                    {
                        stream = await tls.ConnectAsync(stream, TlsTargetHost, handshakeTimeout.Token, plan.TlsPeer).ConfigureAwait(false);
                    }

                    result = await handshake(stream, handshakeTimeout.Token).ConfigureAwait(false);
                }

                var connection = onConnected(socket, stream, result);
                socket = null;
                stream = null;
                var started = plan.Time.GetTimestamp();
                await connection.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (plan.Time.GetElapsedTime(started) > TimeSpan.FromSeconds(1))
                {
                    delay = plan.BackoffMin;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HandshakeException e)
            {
                onRefused(e);
            }
            catch (TlsRefusedException e)
            {
                onRefused(new HandshakeException(HandshakeStatus.TlsRefused, e.Message));
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                onFailed(e is OperationCanceledException ? "timed out" : e.Message);
            }
            finally
            {
                stream?.Dispose();
                socket?.Dispose();
            }

            try
            {
                var jittered = delay * (0.5 + (Random.Shared.NextDouble() / 2));
                await Task.Delay(jittered, plan.Time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, plan.BackoffMax.Ticks));
        }
    }
}
