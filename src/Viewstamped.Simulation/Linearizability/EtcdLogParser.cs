namespace Viewstamped.Simulation.Linearizability;

/// <summary>
/// Reads the Jepsen etcd log format, one event per line:
/// <c>INFO  jepsen.util - PROCESS&lt;TAB&gt;:TYPE&lt;TAB&gt;:F&lt;TAB&gt;VALUE</c>.
/// </summary>
/// <remarks>
/// TYPE is <c>invoke</c>, <c>ok</c>, <c>fail</c> or <c>info</c>; F is <c>read</c>, <c>write</c> or <c>cas</c>;
/// VALUE is <c>nil</c>, an integer, <c>[FROM TO]</c> for a cas, or a keyword such as <c>:timed-out</c> on a
/// <c>fail</c> or <c>info</c>. Lines without <c>jepsen.util - </c> followed by a numeric process (other log output,
/// nemesis events) are ignored. All events get the empty key.
/// </remarks>
public static class EtcdLogParser
{
    private const string eventMarker = "jepsen.util - ";

    /// <summary>Parses the text of an etcd log into events; never throws on malformed input.</summary>
    /// <param name="text">The whole log.</param>
    /// <returns>The events in file order, or an error naming the first malformed line.</returns>
    public static HistoryParseResult<IReadOnlyList<HistoryEvent>> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var events = new List<HistoryEvent>();
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.TrimEnd('\r');
            var marker = line.IndexOf(eventMarker, StringComparison.Ordinal);
            if (marker < 0)
            {
                continue;
            }

            var rest = line.AsSpan(marker + eventMarker.Length).Trim();
            var processEnd = 0;
            while (processEnd < rest.Length && char.IsAsciiDigit(rest[processEnd]))
            {
                processEnd++;
            }

            if (processEnd == 0 || (processEnd < rest.Length && !char.IsWhiteSpace(rest[processEnd])))
            {
                // Not a client event (for example a :nemesis line).
                continue;
            }

            var error = ParseEvent(rest, processEnd, lineNumber, out var parsed);
            if (error is not null)
            {
                return HistoryParseResult<IReadOnlyList<HistoryEvent>>.Fail(lineNumber, error);
            }

            events.Add(parsed!);
        }

        return HistoryParseResult<IReadOnlyList<HistoryEvent>>.Ok(events);
    }

    private static string? ParseEvent(ReadOnlySpan<char> rest, int processEnd, int line, out HistoryEvent? parsed)
    {
        parsed = null;
        if (!int.TryParse(rest[..processEnd], out var process))
        {
            return $"process id '{rest[..processEnd]}' is too large";
        }

        rest = rest[processEnd..].TrimStart();
        var typeToken = NextToken(ref rest);
        HistoryEventType type;
        switch (typeToken)
        {
            case ":invoke": type = HistoryEventType.Invoke; break;
            case ":ok": type = HistoryEventType.Ok; break;
            case ":fail": type = HistoryEventType.Fail; break;
            case ":info": type = HistoryEventType.Info; break;
            default: return $"expected an event type (:invoke, :ok, :fail or :info) after the process id but found '{typeToken}'";
        }

        var functionToken = NextToken(ref rest);
        OperationKind kind;
        switch (functionToken)
        {
            case ":read": kind = OperationKind.Read; break;
            case ":write": kind = OperationKind.Write; break;
            case ":cas": kind = OperationKind.Cas; break;
            default: return $"expected a function (:read, :write or :cas) but found '{functionToken}'";
        }

        var valueText = rest.Trim().ToString();
        if (valueText.Length == 0)
        {
            return "missing value (use nil when there is none)";
        }

        string? value = null;
        string? expected = null;
        var completedWithoutResult = type is HistoryEventType.Fail or HistoryEventType.Info;
        if (valueText.StartsWith(':'))
        {
            if (!completedWithoutResult)
            {
                return $"value '{valueText}' is a keyword, which only a :fail or :info event may carry";
            }
        }
        else if (kind == OperationKind.Cas)
        {
            if (!TryParseCasPair(valueText, out expected, out value))
            {
                return $"cas value '{valueText}' is not of the form [FROM TO] with FROM and TO each nil or an integer";
            }
        }
        else if (!TryParseScalar(valueText, out value))
        {
            return $"value '{valueText}' is not nil or an integer";
        }

        parsed = new HistoryEvent(process, type, kind, string.Empty, value, expected) { Line = line };
        return null;
    }

    private static string NextToken(ref ReadOnlySpan<char> rest)
    {
        rest = rest.TrimStart();
        var end = 0;
        while (end < rest.Length && !char.IsWhiteSpace(rest[end]))
        {
            end++;
        }

        var token = rest[..end].ToString();
        rest = rest[end..];
        return token.Length == 0 ? "end of line" : token;
    }

    private static bool TryParseCasPair(string text, out string? from, out string? to)
    {
        from = null;
        to = null;
        if (text.Length < 2 || text[0] != '[' || text[^1] != ']')
        {
            return false;
        }

        var parts = text[1..^1].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 && TryParseScalar(parts[0], out from) && TryParseScalar(parts[1], out to);
    }

    private static bool TryParseScalar(string text, out string? value)
    {
        value = null;
        if (text == "nil")
        {
            return true;
        }

        var digits = text.StartsWith('-') ? text.AsSpan(1) : text.AsSpan();
        if (digits.Length == 0)
        {
            return false;
        }

        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        value = text;
        return true;
    }
}
