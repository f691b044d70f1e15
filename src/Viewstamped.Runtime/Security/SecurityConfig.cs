using System.Text.Json;

namespace Viewstamped.Runtime.Security;

/// <summary>
/// How a replica authenticates, stored in its data directory (<c>security.json</c>, written by
/// <c>vsr format --tls-cert/--tls-key/--tls-ca</c>) so that <c>vsr replica --data DIR</c> needs no
/// further flags. Paths are stored absolute. Options given explicitly take precedence.
/// </summary>
public sealed record SecurityConfig
{
    /// <summary>The file's name inside a data directory.</summary>
    public const string FileName = "security.json";

    private static readonly JsonSerializerOptions json = new() { WriteIndented = true };

    /// <summary>The replica's certificate: PEM, or PKCS#12 when it ends in <c>.pfx</c> or <c>.p12</c>.</summary>
    public string? TlsCertificateFile { get; init; }

    /// <summary>The PEM private key of <see cref="TlsCertificateFile"/>, unless that file holds it.</summary>
    public string? TlsKeyFile { get; init; }

    /// <summary>The cluster's certificate authority (PEM), which every peer and client certificate must chain to.</summary>
    public string? TlsAuthorityFile { get; init; }

    /// <summary>Writes the config into <paramref name="directory"/>, readable by its owner only (it names key files).</summary>
    public void Save(string directory)
    {
        var path = Path.Combine(directory, FileName);
        var absolute = this with
        {
            TlsCertificateFile = Absolute(TlsCertificateFile),
            TlsKeyFile = Absolute(TlsKeyFile),
            TlsAuthorityFile = Absolute(TlsAuthorityFile),
        };
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new FileStream(path, options);
        JsonSerializer.Serialize(file, absolute, json);
    }

    /// <summary>The config stored in <paramref name="directory"/>, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The file exists but cannot be read as a config.</exception>
    public static SecurityConfig? Load(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<SecurityConfig>(File.ReadAllBytes(path), json)
                ?? throw new InvalidDataException($"{path} is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid security config: {e.Message}", e);
        }
    }

    private static string? Absolute(string? path) => path is null ? null : Path.GetFullPath(path);
}
