using System.Diagnostics;

namespace Viewstamped.Cli.Runtime;

/// <summary>Starts this very <c>vsr</c> program as a child process, whether it runs as <c>dotnet vsr.dll</c> or as the <c>vsr</c> executable.</summary>
public static class SelfLauncher
{
    /// <summary>A start info for <c>vsr ARGS</c>, with standard input, output and error redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var processPath = Environment.ProcessPath ?? "dotnet";
        var entry = Path.Combine(AppContext.BaseDirectory, "vsr.dll");
        var info = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.OrdinalIgnoreCase) || !File.Exists(processPath))
        {
            info.FileName = processPath;
            info.ArgumentList.Add(entry);
        }
        else
        {
            info.FileName = processPath;
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}
