using System.Globalization;
using System.Net;

namespace Viewstamped.Cli.Runtime;

/// <summary>Reads the <c>key=value</c> fields of the <c>ready ...</c> and <c>status ...</c> lines a <c>vsr replica</c> prints.</summary>
public static class LineFields
{
    /// <summary>The fields after the first word; a later field with the same key wins.</summary>
    public static Dictionary<string, string> Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var equals = word.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                fields[word[..equals]] = word[(equals + 1)..];
            }
        }

        return fields;
    }

    /// <summary>The port of the <c>resp=HOST:PORT</c> field, or 0 when there is none.</summary>
    public static int RespPort(string line) =>
        Parse(line).TryGetValue("resp", out var resp) && IPEndPoint.TryParse(resp, out var endPoint) ? endPoint.Port : 0;

    /// <summary>An integer field, or -1 when it is missing or not a number.</summary>
    public static long Integer(IReadOnlyDictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : -1;
}
