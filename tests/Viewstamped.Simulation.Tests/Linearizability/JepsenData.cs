using System.Diagnostics;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Simulation.Tests.Linearizability;

/// <summary>Finds and checks the real Jepsen histories in shared/testdata/jepsen.</summary>
internal static class JepsenData
{
    public const string MissingFolderCase = "<shared/testdata/jepsen not found>";

    private static readonly string[] relativePath = ["shared", "testdata", "jepsen"];

    /// <summary>
    /// Walks up from the test binaries looking for shared/testdata/jepsen; this finds both
    /// REPO/shared/testdata/jepsen and REPO/../shared/testdata/jepsen (the CI layout).
    /// </summary>
    public static string? FindFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine([dir.FullName, .. relativePath]);
            if (File.Exists(Path.Combine(candidate, "verdicts.txt")))
            {
                return candidate;
            }
        }

        return null;
    }

    public static string RequireFolder()
    {
        var folder = FindFolder();
        if (folder is null)
        {
            Assert.Fail(
                "The Jepsen test histories were not found: no directory above "
                + AppContext.BaseDirectory
                + " contains shared/testdata/jepsen/verdicts.txt. Put the shared/ folder in the repository root or beside it.");
        }

        return folder!;
    }

    public static IReadOnlyList<(string File, string Verdict)> ReadVerdicts(string folder) =>
        File.ReadAllLines(Path.Combine(folder, "verdicts.txt"))
            .Select(line => line.Trim())
            .Where(line => line.Length > 0)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(parts => (parts[0], parts[1]))
            .ToList();

    /// <summary>Checks one file the way <c>vsr check</c> does: *.log with the register model, others with the kv model.</summary>
    public static (CheckResult Result, TimeSpan Elapsed) CheckFile(string path, TimeSpan timeout)
    {
        var text = File.ReadAllText(path);
        var isLog = path.EndsWith(".log", StringComparison.Ordinal);
        var parsed = isLog ? EtcdLogParser.Parse(text) : EdnHistoryParser.Parse(text);
        Assert.True(parsed.Success, parsed.Describe(path));
        Assert.NotEmpty(parsed.Value!);
        var operations = History.ToOperations(parsed.Value!);
        Assert.True(operations.Success, operations.Describe(path));

        var clock = Stopwatch.StartNew();
        var budget = new CheckBudget(MaxSteps: 100_000_000, ShouldStop: () => clock.Elapsed > timeout);
        var result = isLog
            ? LinearizabilityChecker.Check(RegisterModel.Instance, operations.Value!, budget)
            : LinearizabilityChecker.Check(KeyValueModel.Instance, operations.Value!, budget);
        return (result, clock.Elapsed);
    }

    public static string Describe(Verdict verdict) => verdict switch
    {
        Verdict.Linearizable => "linearizable",
        Verdict.NotLinearizable => "not-linearizable",
        _ => "unknown",
    };
}
