using System.Globalization;
using System.Net;

namespace Viewstamped.Runtime.Transport;

/// <summary>Parses the <c>HOST:PORT</c> endpoints of a cluster configuration.</summary>
public static class Endpoints
{
    /// <summary>
    /// Parses <c>HOST:PORT</c>: an IPv4 address, a bracketed IPv6 address (<c>[::1]:7000</c>) or a host
    /// name, and a port from 1 to 65535. Returns false with a reason when it is not one.
    /// </summary>
    public static bool TryParse(string? text, out EndPoint endPoint, out string error)
    {
        endPoint = new IPEndPoint(IPAddress.None, 0);
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "an endpoint is empty; expected HOST:PORT";
            return false;
        }

        text = text.Trim();
        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"'{text}' is not HOST:PORT";
            return false;
        }

        if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"'{text}' has no port from 1 to 65535";
            return false;
        }

        var host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        if (IPAddress.TryParse(host, out var address))
        {
            endPoint = new IPEndPoint(address, port);
            return true;
        }

        if (host.Contains(':', StringComparison.Ordinal) || Uri.CheckHostName(host) != UriHostNameType.Dns)
        {
            error = $"'{text}' names no valid host";
            return false;
        }

        endPoint = new DnsEndPoint(host, port);
        return true;
    }

    /// <summary>Parses <c>HOST:PORT</c>; throws <see cref="FormatException"/> when it is not one.</summary>
    public static EndPoint Parse(string text) =>
        TryParse(text, out var endPoint, out var error) ? endPoint : throw new FormatException(error);

    /// <summary>Parses a comma-separated list of <c>HOST:PORT</c> endpoints.</summary>
    public static IReadOnlyList<string> SplitList(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Formats an endpoint back as <c>HOST:PORT</c>.</summary>
    public static string Format(EndPoint endPoint) => endPoint switch
    {
        IPEndPoint ip => ip.ToString(),
        DnsEndPoint dns => string.Create(CultureInfo.InvariantCulture, $"{dns.Host}:{dns.Port}"),
        _ => endPoint.ToString() ?? "?",
    };

    /// <summary>Resolves an endpoint to the address to bind a listener to.</summary>
    internal static async Task<IPEndPoint> ResolveAsync(EndPoint endPoint, CancellationToken cancellationToken)
    {
        switch (endPoint)
        {
            case IPEndPoint ip:
                return ip;
            case DnsEndPoint dns:
                var addresses = await Dns.GetHostAddressesAsync(dns.Host, cancellationToken).ConfigureAwait(false);
                var address = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                    ?? throw new InvalidOperationException($"{dns.Host} resolves to no address");
                return new IPEndPoint(address, dns.Port);
            default:
                throw new ArgumentException($"Unsupported endpoint {endPoint}", nameof(endPoint));
        }
    }
}
