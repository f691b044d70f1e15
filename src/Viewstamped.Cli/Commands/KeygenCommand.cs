using System.CommandLine;
using Viewstamped.Runtime.Security;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr keygen FILE</c>: writes a new random cluster key.</summary>
public static class KeygenCommand
{
    /// <summary>Builds the <c>keygen</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "The key file to create; it must not exist." };
        var command = new Command("keygen", "Write a new random 32-byte cluster key to FILE, readable only by its owner (mode 0600).") { file };
        command.SetAction(parse => Run(parse.GetValue(file)!, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>Writes the key and prints its fingerprint.</summary>
    public static int Run(string path, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var key = ClusterKey.Generate();
        try
        {
            key.Save(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            error.WriteLine(File.Exists(path)
                ? $"vsr keygen: {path} already exists; refusing to overwrite a key"
                : $"vsr keygen: cannot write {path}: {e.Message}");
            return ExitCodes.BadArguments;
        }

        output.WriteLine($"wrote a new cluster key to {path} (fingerprint {key.Fingerprint}); give it to every replica and client with --key-file");
        return ExitCodes.Ok;
    }
}
