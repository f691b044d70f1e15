using System.Net;

namespace Viewstamped.Runtime.Security;

/// <summary>Counts live connections per remote address and refuses those beyond a limit.</summary>
internal sealed class ConnectionLimiter(int perAddressMax)
{
    private readonly Dictionary<IPAddress, int> counts = [];
    private readonly Lock gate = new();

    /// <summary>Takes a slot for <paramref name="address"/>; false when its connections are at the limit.</summary>
    public bool TryAcquire(IPAddress address)
    {
        lock (gate)
        {
            counts.TryGetValue(address, out var count);
            if (count >= perAddressMax)
            {
                return false;
            }

            counts[address] = count + 1;
            return true;
        }
    }

    /// <summary>Gives back a slot taken by <see cref="TryAcquire"/>.</summary>
    public void Release(IPAddress address)
    {
        lock (gate)
        {
            if (counts.TryGetValue(address, out var count))
            {
                if (count <= 1)
                {
                    counts.Remove(address);
                }
                else
                {
                    counts[address] = count - 1;
                }
            }
        }
    }
}
