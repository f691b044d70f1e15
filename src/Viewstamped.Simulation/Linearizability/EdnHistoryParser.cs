using System.Globalization;

namespace Viewstamped.Simulation.Linearizability;

/// <summary>
/// Reads key-value histories written as one EDN map per line:
/// <c>{:process P, :type :invoke|:ok|:fail|:info, :f :get|:put|:append|:cas, :key "K", :value V}</c>.
/// </summary>
/// <remarks>
/// V is a string or nil, or for a cas the vector <c>["FROM" "TO"]</c> (either may be nil). Integers are accepted
/// wherever a string is and read as their decimal text; <c>:read</c> and <c>:write</c> are accepted for
/// <c>:get</c> and <c>:put</c>. Other map keys (such as <c>:time</c>) are ignored, as are blank lines, lines
/// starting with <c>;</c>, and events whose process is a keyword (such as <c>:nemesis</c>).
/// </remarks>
public static class EdnHistoryParser
{
    /// <summary>Parses a whole EDN history; never throws on malformed input.</summary>
    /// <param name="text">The file contents.</param>
    /// <returns>The events in file order, or an error naming the first malformed line.</returns>
    public static HistoryParseResult<IReadOnlyList<HistoryEvent>> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var events = new List<HistoryEvent>();
        var lineNumber = 0;
        foreach (var rawLine in text.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith(';'))
            {
                continue;
            }

            var error = ParseLine(line, lineNumber, out var parsed);
            if (error is not null)
            {
                return HistoryParseResult<IReadOnlyList<HistoryEvent>>.Fail(lineNumber, error);
            }

            if (parsed is not null)
            {
                events.Add(parsed);
            }
        }

        return HistoryParseResult<IReadOnlyList<HistoryEvent>>.Ok(events);
    }

    private static string? ParseLine(string line, int lineNumber, out HistoryEvent? parsed)
    {
        parsed = null;
        var error = new EdnReader(line).ReadSingle(out var value);
        if (error is not null)
        {
            return error;
        }

        if (value is not Dictionary<string, object?> map)
        {
            return "expected a map {:process ..., :type ..., :f ..., :key ..., :value ...}";
        }

        if (!map.TryGetValue("process", out var processValue))
        {
            return "missing :process";
        }

        if (processValue is EdnKeyword)
        {
            return null;
        }

        if (processValue is not long process || process is < int.MinValue or > int.MaxValue)
        {
            return ":process must be an integer";
        }

        if (!map.TryGetValue("type", out var typeValue))
        {
            return "missing :type";
        }

        HistoryEventType type;
        switch ((typeValue as EdnKeyword)?.Name)
        {
            case "invoke": type = HistoryEventType.Invoke; break;
            case "ok": type = HistoryEventType.Ok; break;
            case "fail": type = HistoryEventType.Fail; break;
            case "info": type = HistoryEventType.Info; break;
            default: return $":type must be :invoke, :ok, :fail or :info, not {Show(typeValue)}";
        }

        if (!map.TryGetValue("f", out var functionValue))
        {
            return "missing :f";
        }

        OperationKind kind;
        switch ((functionValue as EdnKeyword)?.Name)
        {
            case "get" or "read": kind = OperationKind.Read; break;
            case "put" or "write": kind = OperationKind.Write; break;
            case "append": kind = OperationKind.Append; break;
            case "cas": kind = OperationKind.Cas; break;
            default: return $":f must be :get, :put, :append or :cas, not {Show(functionValue)}";
        }

        if (!map.TryGetValue("key", out var keyValue))
        {
            return "missing :key";
        }

        if (!TryScalar(keyValue, out var key) || key is null)
        {
            return $":key must be a string or an integer, not {Show(keyValue)}";
        }

        map.TryGetValue("value", out var rawValue);
        string? text = null;
        string? expected = null;
        var mustParse = type == HistoryEventType.Invoke
            || (type == HistoryEventType.Ok && kind is OperationKind.Read or OperationKind.Cas);
        if (kind == OperationKind.Cas)
        {
            if (rawValue is List<object?> { Count: 2 } pair && TryScalar(pair[0], out expected) && TryScalar(pair[1], out text))
            {
                // Parsed.
            }
            else if (mustParse)
            {
                return $"cas :value must be [FROM TO] with strings or nil, not {Show(rawValue)}";
            }
        }
        else if (!TryScalar(rawValue, out text))
        {
            if (mustParse)
            {
                return $":value must be a string or nil, not {Show(rawValue)}";
            }

            text = null;
        }
        else if (type == HistoryEventType.Invoke && text is null && kind is OperationKind.Append)
        {
            return "an :append needs a string :value";
        }

        parsed = new HistoryEvent((int)process, type, kind, key, kind == OperationKind.Read && type == HistoryEventType.Invoke ? null : text, expected)
        {
            Line = lineNumber,
        };
        return null;
    }

    private static bool TryScalar(object? value, out string? text)
    {
        switch (value)
        {
            case null:
                text = null;
                return true;
            case string s:
                text = s;
                return true;
            case long n:
                text = n.ToString(CultureInfo.InvariantCulture);
                return true;
            default:
                text = null;
                return false;
        }
    }

    private static string Show(object? value) => value switch
    {
        null => "nil",
        EdnKeyword k => ":" + k.Name,
        string s => "\"" + s + "\"",
        List<object?> => "a vector",
        Dictionary<string, object?> => "a map",
        bool b => b ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "?",
    };
}
