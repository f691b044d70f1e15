using System.Diagnostics;
using Viewstamped.Simulation.Linearizability;
using Xunit.Abstractions;

namespace Viewstamped.Simulation.Tests.Linearizability;

public class JepsenHistoryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan perFileLimit = TimeSpan.FromSeconds(5);

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        var folder = JepsenData.FindFolder();
        if (folder is null)
        {
            // Keep one case so the missing folder shows up as a failure, not as zero tests.
            data.Add(JepsenData.MissingFolderCase, string.Empty);
            return data;
        }

        foreach (var (file, verdict) in JepsenData.ReadVerdicts(folder))
        {
            data.Add(file, verdict);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Checker_gives_the_known_verdict(string file, string expected)
    {
        var folder = JepsenData.RequireFolder();
        Assert.NotEqual(JepsenData.MissingFolderCase, file);

        var (result, elapsed) = JepsenData.CheckFile(Path.Combine(folder, file), perFileLimit);

        output.WriteLine($"{file}: {JepsenData.Describe(result.Verdict)} in {elapsed.TotalMilliseconds:F1} ms, {result.Steps} steps");
        Assert.NotEqual(Verdict.Unknown, result.Verdict);
        Assert.Equal(expected, JepsenData.Describe(result.Verdict));
        Assert.True(elapsed < perFileLimit, $"{file} took {elapsed}");
    }

    [Fact]
    public void Verdicts_cover_every_history_in_the_folder()
    {
        var folder = JepsenData.RequireFolder();
        var listed = JepsenData.ReadVerdicts(folder).Select(v => v.File).ToHashSet(StringComparer.Ordinal);
        var present = Directory.EnumerateFiles(folder)
            .Select(Path.GetFileName)
            .Where(name => name!.EndsWith(".log", StringComparison.Ordinal) || name.StartsWith("kv-", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Equal(54, listed.Count);
        Assert.Equal(present.Order(), listed.Order());
    }

    [Fact]
    public void All_histories_are_checked_in_a_few_seconds()
    {
        var folder = JepsenData.RequireFolder();
        var clock = Stopwatch.StartNew();
        var slowest = (File: string.Empty, Elapsed: TimeSpan.Zero);
        foreach (var (file, _) in JepsenData.ReadVerdicts(folder))
        {
            var (_, elapsed) = JepsenData.CheckFile(Path.Combine(folder, file), perFileLimit);
            if (elapsed > slowest.Elapsed)
            {
                slowest = (file, elapsed);
            }
        }

        output.WriteLine($"all files: {clock.Elapsed.TotalMilliseconds:F0} ms (parse + check); slowest {slowest.File} {slowest.Elapsed.TotalMilliseconds:F1} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"checking every file took {clock.Elapsed}");
    }
}
