using System.Diagnostics.CodeAnalysis;

namespace Viewstamped.Simulation.Linearizability;

/// <summary>The outcome of reading or converting a history: either a value or an error naming the offending line.</summary>
/// <typeparam name="T">The type of the value produced on success.</typeparam>
public sealed class HistoryParseResult<T>
    where T : class
{
    private HistoryParseResult(T? value, string? error, int line)
    {
        Value = value;
        Error = error;
        Line = line;
    }

    /// <summary>Gets the parsed value, or <see langword="null"/> when parsing failed.</summary>
    public T? Value { get; }

    /// <summary>Gets the error message (without the line prefix), or <see langword="null"/> on success.</summary>
    public string? Error { get; }

    /// <summary>Gets the 1-based line the error refers to, or 0 when the error is not tied to a line.</summary>
    public int Line { get; }

    /// <summary>Gets a value indicating whether parsing succeeded and <see cref="Value"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Success => Error is null;

    /// <summary>Creates a successful result holding <paramref name="value"/>.</summary>
    /// <param name="value">The parsed value.</param>
    /// <returns>A successful result.</returns>
    public static HistoryParseResult<T> Ok(T value) => new(value, null, 0);

    /// <summary>Creates a failed result with a message about line <paramref name="line"/>.</summary>
    /// <param name="line">The 1-based line at fault, or 0 if the error is not tied to a line.</param>
    /// <param name="error">What is wrong, without the line prefix.</param>
    /// <returns>A failed result.</returns>
    public static HistoryParseResult<T> Fail(int line, string error) => new(null, error, line);

    /// <summary>Formats the error as <c>SOURCE line N: message</c> for a person to read.</summary>
    /// <param name="source">The name of the file or stream the history came from.</param>
    /// <returns>The formatted error, or an empty string on success.</returns>
    public string Describe(string source)
    {
        if (Success)
        {
            return string.Empty;
        }

        return Line > 0 ? $"{source} line {Line}: {Error}" : $"{source}: {Error}";
    }
}
