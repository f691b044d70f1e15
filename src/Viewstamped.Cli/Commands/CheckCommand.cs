using System.CommandLine;
using System.Diagnostics;
using Viewstamped.Simulation.Linearizability;

namespace Viewstamped.Cli.Commands;

/// <summary><c>vsr check</c>: checks recorded client histories for linearizability.</summary>
public static class CheckCommand
{
    private const string registerModelName = "register";
    private const string keyValueModelName = "kv";

    /// <summary>Builds the <c>check</c> subcommand.</summary>
    /// <returns>The command, ready to add to the root command.</returns>
    public static Command Create()
    {
        var model = new Option<string?>("--model")
        {
            Description = "Model to check against: 'register' (one read/write/cas register) or "
                + "'kv' (get/put/append/cas on string keys). *.log files are read as etcd Jepsen logs, others as EDN. Default: register for *.log files, kv otherwise.",
        };
        model.AcceptOnlyFromAmong(registerModelName, keyValueModelName);

        var timeout = new Option<double>("--timeout")
        {
            Description = "Seconds to spend on each file before giving up with verdict 'unknown'.",
            DefaultValueFactory = _ => 60,
        };

        var files = new Argument<string[]>("FILE")
        {
            Description = "History files to check.",
            Arity = ArgumentArity.OneOrMore,
        };

        var command = new Command("check", "Check recorded client histories for linearizability.")
        {
            model,
            timeout,
            files,
        };
        command.SetAction(parseResult => Run(
            parseResult.GetValue(files) ?? [],
            parseResult.GetValue(model),
            parseResult.GetValue(timeout),
            parseResult.InvocationConfiguration.Output,
            parseResult.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>
    /// Reads each file (<c>*.log</c> as an etcd Jepsen log, anything else as EDN), checks it and prints <c>FILE linearizable</c>, <c>FILE not-linearizable</c> or <c>FILE unknown</c>.
    /// </summary>
    /// <param name="files">The files, as given on the command line.</param>
    /// <param name="modelName">The model, or <see langword="null"/> to choose by file extension.</param>
    /// <param name="timeoutSeconds">The time budget per file.</param>
    /// <param name="output">Where verdicts go.</param>
    /// <param name="error">Where errors go.</param>
    /// <returns>
    /// <see cref="ExitCodes.BadArguments"/> if any file could not be read or parsed, otherwise
    /// <see cref="ExitCodes.Correctness"/> if any file is not (or not known to be) linearizable, otherwise <see cref="ExitCodes.Ok"/>.
    /// </returns>
    public static int Run(IReadOnlyList<string> files, string? modelName, double timeoutSeconds, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (double.IsNaN(timeoutSeconds) || timeoutSeconds <= 0)
        {
            error.WriteLine($"vsr check: --timeout must be a positive number of seconds, not {timeoutSeconds}");
            return ExitCodes.BadArguments;
        }

        var badInput = false;
        var allLinearizable = true;
        foreach (var file in files)
        {
            var isLog = file.EndsWith(".log", StringComparison.OrdinalIgnoreCase);
            var model = modelName ?? (isLog ? registerModelName : keyValueModelName);
            var verdict = CheckFile(file, isLog, model, timeoutSeconds, error);
            switch (verdict)
            {
                case null:
                    badInput = true;
                    break;
                case Verdict.Linearizable:
                    output.WriteLine($"{file} linearizable");
                    break;
                case Verdict.NotLinearizable:
                    output.WriteLine($"{file} not-linearizable");
                    allLinearizable = false;
                    break;
                default:
                    output.WriteLine($"{file} unknown");
                    error.WriteLine($"vsr check: {file}: gave up after {timeoutSeconds} s without a verdict");
                    allLinearizable = false;
                    break;
            }
        }

        if (badInput)
        {
            return ExitCodes.BadArguments;
        }

        return allLinearizable ? ExitCodes.Ok : ExitCodes.Correctness;
    }

    private static Verdict? CheckFile(string file, bool isLog, string model, double timeoutSeconds, TextWriter error)
    {
        if (Directory.Exists(file))
        {
            error.WriteLine($"vsr check: {file}: is a directory, not a history file");
            return null;
        }

        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error.WriteLine(e is FileNotFoundException or DirectoryNotFoundException
                ? $"vsr check: {file}: file not found"
                : $"vsr check: {file}: cannot read: {e.Message}");
            return null;
        }

        var parsed = isLog ? EtcdLogParser.Parse(text) : EdnHistoryParser.Parse(text);
        if (!parsed.Success)
        {
            error.WriteLine($"vsr check: {parsed.Describe(file)}");
            return null;
        }

        if (parsed.Value.Count == 0 && !string.IsNullOrWhiteSpace(text))
        {
            error.WriteLine(isLog
                ? $"vsr check: {file}: no 'jepsen.util - PROCESS :TYPE :F VALUE' event lines found"
                : $"vsr check: {file}: no events found");
            return null;
        }

        var isRegister = model == registerModelName;
        if (isRegister)
        {
            var unsupported = parsed.Value.FirstOrDefault(e => e.Kind == OperationKind.Append || !string.Equals(e.Key, parsed.Value[0].Key, StringComparison.Ordinal));
            if (unsupported is not null)
            {
                var what = unsupported.Kind == OperationKind.Append ? "an append" : "a second key";
                error.WriteLine($"vsr check: {file} line {unsupported.Line}: the register model has {what}; use --model kv");
                return null;
            }
        }

        var operations = History.ToOperations(parsed.Value);
        if (!operations.Success)
        {
            error.WriteLine($"vsr check: {operations.Describe(file)}");
            return null;
        }

        var clock = Stopwatch.StartNew();
        var budget = new CheckBudget(ShouldStop: () => clock.Elapsed.TotalSeconds > timeoutSeconds);
        var result = isRegister
            ? LinearizabilityChecker.Check(RegisterModel.Instance, operations.Value, budget)
            : LinearizabilityChecker.Check(KeyValueModel.Instance, operations.Value, budget);
        return result.Verdict;
    }
}
