using System.CommandLine;
using Viewstamped.Cli.Runtime;
using Viewstamped.Runtime.Security;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr format</c>: creates a replica's data directory (the bootstrap step VR leaves out).</summary>
public static class FormatCommand
{
    /// <summary>Builds the <c>format</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "The data directory to create (or an empty existing one). A formatted directory is never overwritten.",
            Required = true,
        };
        var cluster = new Option<string>("--cluster")
        {
            Description = "The cluster id: a nonzero 128-bit number, in decimal (24301) or hex with 0x (0x5eed). Every replica of the cluster uses the same.",
            Required = true,
        };
        var replica = new Option<int>("--replica")
        {
            Description = "This replica's index in --replicas, from 0.",
            Required = true,
        };
        var replicas = new Option<string>("--replicas")
        {
            Description = "The configuration: every replica's HOST:PORT ([IPv6]:PORT), comma-separated in index order; their count is the replica count.",
            Required = true,
        };

        var tls = new TlsArguments("this replica's");
        tls.Certificate.Description += " It must name the replica: the URI vsr://cluster/CLUSTER/replica/INDEX in its subject alternative name. Stored in the directory's security.json.";

        var command = new Command("format", "Create a replica's data directory: a superblock holding the cluster id, the replica index and the configuration, and an empty log.")
        {
            data,
            cluster,
            replica,
            replicas,
        };
        foreach (var option in tls.All)
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => Run(
            parseResult.GetValue(data)!,
            parseResult.GetValue(cluster)!,
            parseResult.GetValue(replica),
            parseResult.GetValue(replicas)!,
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error,
            tls.Get(parseResult)));
        return command;
    }

    /// <summary>Checks the arguments and formats <paramref name="directory"/>; prints what it wrote, or why it did not.</summary>
    /// <param name="directory">The data directory.</param>
    /// <param name="clusterText">The cluster id as typed.</param>
    /// <param name="replica">The replica index.</param>
    /// <param name="replicasText">The comma-separated configuration.</param>
    /// <param name="output">Where the result goes.</param>
    /// <param name="error">Where errors go.</param>
    /// <param name="security">Mutual TLS files to store in the directory; none by default.</param>
    /// <returns><see cref="ExitCodes.Ok"/>, or <see cref="ExitCodes.BadArguments"/> when an argument is invalid or the directory is already formatted or cannot be written.</returns>
    public static int Run(string directory, string clusterText, int replica, string replicasText, TextWriter output, TextWriter error, SecurityConfig? security = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (!StorageIdentity.TryParseCluster(clusterText ?? string.Empty, out var cluster, out var clusterError))
        {
            error.WriteLine($"vsr format: --cluster: {clusterError}");
            return ExitCodes.BadArguments;
        }

        if (StorageIdentity.TryParseConfiguration(replicasText ?? string.Empty, out var configuration) is { } configurationError)
        {
            error.WriteLine($"vsr format: --replicas: {configurationError}");
            return ExitCodes.BadArguments;
        }

        if (replica < 0 || replica >= configuration.Count)
        {
            error.WriteLine($"vsr format: --replica {replica} is outside the configuration of {configuration.Count} replicas (0 to {configuration.Count - 1})");
            return ExitCodes.BadArguments;
        }

        if (string.IsNullOrWhiteSpace(directory))
        {
            error.WriteLine("vsr format: --data must name a directory");
            return ExitCodes.BadArguments;
        }

        var tls = security is { TlsCertificateFile: null, TlsKeyFile: null, TlsAuthorityFile: null } ? null : security;
        if (tls is not null && TlsArguments.Check(tls, null, (cluster, new ReplicaIndex((byte)replica))) is { } tlsError)
        {
            error.WriteLine($"vsr format: {tlsError}");
            return ExitCodes.BadArguments;
        }

        try
        {
            var identity = new StorageIdentity(cluster, new ReplicaIndex((byte)replica), configuration);
            FileStorage.Format(directory, identity);
            tls?.Save(directory);
            output.WriteLine($"formatted {Path.GetFullPath(directory)}: {identity}{(tls is null ? string.Empty : ", mutual TLS")}");
            return ExitCodes.Ok;
        }
        catch (StorageException e)
        {
            error.WriteLine($"vsr format: {e.Message}");
            return ExitCodes.BadArguments;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"vsr format: cannot write '{directory}': {e.Message}");
            return ExitCodes.BadArguments;
        }
    }
}
