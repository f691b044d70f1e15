using System.Diagnostics;
using System.Runtime.CompilerServices;
using Viewstamped.Runtime.Storage;

namespace Viewstamped.Runtime.Tests.Storage;

/// <summary><c>vsr format</c>, run as a process: it formats once, refuses to overwrite, and checks its arguments.</summary>
public sealed class FormatCommandTests
{
    [Fact]
    public void Vsr_format_creates_a_directory_the_storage_opens_and_never_overwrites_it()
    {
        var directory = StorageTestData.TemporaryDirectory("vsr-format");
        try
        {
            var (code, output, error) = Vsr("format", "--data", directory, "--cluster", "0x5eed", "--replica", "2", "--replicas", "a:1,b:2,[::1]:3");
            Assert.True(code == 0, error);
            Assert.Contains("replica 2 of 3", output, StringComparison.Ordinal);
            using (var storage = FileStorage.Open(directory, 0x5eed, new ReplicaIndex(2)))
            {
                Assert.Equal(["a:1", "b:2", "[::1]:3"], storage.Identity.Configuration);
                Assert.Empty(storage.Load().Entries);
            }

            var before = File.ReadAllBytes(Path.Combine(directory, "superblock"));
            (code, _, error) = Vsr("format", "--data", directory, "--cluster", "24301", "--replica", "0", "--replicas", "a:1");
            Assert.Equal(1, code);
            Assert.Contains("refusing to overwrite", error, StringComparison.Ordinal);
            Assert.Equal(before, File.ReadAllBytes(Path.Combine(directory, "superblock")));

            (code, _, error) = Vsr("format", "--data", directory + "-x", "--cluster", "c1", "--replica", "0", "--replicas", "a:1");
            Assert.Equal(1, code);
            Assert.Contains("write it as 0xc1", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(directory + "-x"));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    internal static (int Code, string Output, string Error) Vsr(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet", [VsrPath(), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    /// <summary>The CLI, built alongside this test project (its project reference does not copy it here).</summary>
    private static string VsrPath([CallerFilePath] string thisFile = "")
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var root = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));
        var dll = Path.Combine(root, "src", "Viewstamped.Cli", "bin", configuration, "net10.0", "vsr.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        return dll;
    }
}
