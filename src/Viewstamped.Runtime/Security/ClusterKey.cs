using System.Globalization;
using System.Security.Cryptography;

namespace Viewstamped.Runtime.Security;

/// <summary>
/// A cluster's shared secret: 32 random bytes that every replica and client of the cluster holds.
/// Connections prove knowledge of it in a handshake and authenticate every frame with keys derived
/// from it; the key itself never travels. On disk it is one line of 64 hexadecimal digits, in a file
/// only its owner may read (mode 0600).
/// </summary>
public sealed class ClusterKey
{
    /// <summary>The key's length in bytes.</summary>
    public const int Size = 32;

    private readonly byte[] key;

    /// <summary>Creates a key from exactly <see cref="Size"/> bytes.</summary>
    public ClusterKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != Size)
        {
            throw new ArgumentException($"A cluster key is {Size} bytes, not {key.Length}", nameof(key));
        }

        this.key = key.ToArray();
    }

    /// <summary>
    /// A short public name of the key (the first 8 bytes of its SHA-256, in hex), to tell in logs
    /// which key a process uses without revealing it.
    /// </summary>
    public string Fingerprint => Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 8));

    /// <summary>The secret bytes; only the handshake reads them.</summary>
    internal ReadOnlySpan<byte> Bytes => key;

    /// <summary>Draws a new key from the operating system's cryptographic random number generator.</summary>
    public static ClusterKey Generate() => new(RandomNumberGenerator.GetBytes(Size));

    /// <summary>Parses the text form: 64 hexadecimal digits, surrounding white space ignored.</summary>
    public static ClusterKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        if (trimmed.Length != 2 * Size || !trimmed.All(char.IsAsciiHexDigit))
        {
            throw new FormatException($"A cluster key is {2 * Size} hexadecimal digits");
        }

        return new ClusterKey(Convert.FromHexString(trimmed));
    }

    /// <summary>Reads a key file written by <see cref="Save"/> (or <c>vsr keygen</c>).</summary>
    public static ClusterKey Load(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path} is not a cluster key file: {e.Message}", e);
        }
    }

    /// <summary>
    /// True when the key file at <paramref name="path"/> can be read or written by users other than its owner,
    /// with its mode in <paramref name="mode"/>. Always false on Windows.
    /// </summary>
    public static bool IsTooOpen(string path, out string mode)
    {
        mode = string.Empty;
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        var unixMode = File.GetUnixFileMode(path);
        mode = Convert.ToString((int)unixMode, 8).PadLeft(4, '0');
        const UnixFileMode others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
            | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        return (unixMode & others) != 0;
    }

    /// <summary>
    /// Writes the key to a new file that only its owner can read and write (mode 0600 on Unix).
    /// Refuses to overwrite an existing file.
    /// </summary>
    public void Save(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(Convert.ToHexStringLower(key));
        writer.Write('\n');
        writer.Flush();
        stream.Flush(flushToDisk: true);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"cluster key {Fingerprint}");
}
