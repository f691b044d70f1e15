using System.Globalization;
using System.Text;

namespace Viewstamped.Simulation.Linearizability;

/// <summary>A keyword read from EDN, such as <c>:invoke</c>; <see cref="Name"/> excludes the colon.</summary>
internal sealed record EdnKeyword(string Name);

/// <summary>
/// Reads the subset of EDN used by history files from one line: maps, vectors, strings, keywords, integers,
/// nil and booleans. Values are <see langword="null"/> (nil), <see cref="string"/>, <see cref="EdnKeyword"/>,
/// <see cref="long"/>, <see cref="bool"/>, <see cref="List{T}"/> of values, or <see cref="Dictionary{TKey,TValue}"/>
/// keyed by keyword name.
/// </summary>
internal sealed class EdnReader(string text)
{
    private int position;

    /// <summary>Reads one value that must span the rest of the text; returns an error message or null.</summary>
    public string? ReadSingle(out object? value)
    {
        var error = Read(out value);
        if (error is not null)
        {
            return error;
        }

        SkipWhitespace();
        return position < text.Length ? $"unexpected '{text[position]}' at column {position + 1} after the end of the value" : null;
    }

    private string? Read(out object? value)
    {
        value = null;
        SkipWhitespace();
        if (position >= text.Length)
        {
            return "unexpected end of line";
        }

        var c = text[position];
        switch (c)
        {
            case '{':
                return ReadMap(out value);
            case '[':
                return ReadVector(out value);
            case '"':
                return ReadString(out value);
            case ':':
                var name = ReadSymbolText(position + 1);
                if (name.Length == 0)
                {
                    return $"empty keyword at column {position + 1}";
                }

                position += name.Length + 1;
                value = new EdnKeyword(name);
                return null;
            default:
                break;
        }

        var start = position;
        var symbol = ReadSymbolText(position);
        if (symbol.Length == 0)
        {
            return $"unexpected '{c}' at column {start + 1}";
        }

        position += symbol.Length;
        switch (symbol)
        {
            case "nil":
                return null;
            case "true":
                value = true;
                return null;
            case "false":
                value = false;
                return null;
            default:
                if (long.TryParse(symbol, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
                {
                    value = number;
                    return null;
                }

                return $"'{symbol}' at column {start + 1} is not nil, a number, a string or a keyword";
        }
    }

    private string? ReadMap(out object? value)
    {
        value = null;
        var open = position;
        position++;
        var map = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (true)
        {
            SkipWhitespace();
            if (position >= text.Length)
            {
                return $"map opened at column {open + 1} is not closed";
            }

            if (text[position] == '}')
            {
                position++;
                value = map;
                return null;
            }

            var keyColumn = position + 1;
            var error = Read(out var key);
            if (error is not null)
            {
                return error;
            }

            if (key is not EdnKeyword keyword)
            {
                return $"map key at column {keyColumn} is not a keyword";
            }

            SkipWhitespace();
            if (position >= text.Length || text[position] == '}')
            {
                return $"map key :{keyword.Name} has no value";
            }

            error = Read(out var item);
            if (error is not null)
            {
                return error;
            }

            if (!map.TryAdd(keyword.Name, item))
            {
                return $"map key :{keyword.Name} appears twice";
            }
        }
    }

    private string? ReadVector(out object? value)
    {
        value = null;
        var open = position;
        position++;
        var items = new List<object?>();
        while (true)
        {
            SkipWhitespace();
            if (position >= text.Length)
            {
                return $"vector opened at column {open + 1} is not closed";
            }

            if (text[position] == ']')
            {
                position++;
                value = items;
                return null;
            }

            var error = Read(out var item);
            if (error is not null)
            {
                return error;
            }

            items.Add(item);
        }
    }

    private string? ReadString(out object? value)
    {
        value = null;
        var open = position;
        position++;
        var builder = new StringBuilder();
        while (position < text.Length)
        {
            var c = text[position++];
            if (c == '"')
            {
                value = builder.ToString();
                return null;
            }

            if (c != '\\')
            {
                builder.Append(c);
                continue;
            }

            if (position >= text.Length)
            {
                break;
            }

            var escape = text[position++];
            switch (escape)
            {
                case '"': builder.Append('"'); break;
                case '\\': builder.Append('\\'); break;
                case 'n': builder.Append('\n'); break;
                case 't': builder.Append('\t'); break;
                case 'r': builder.Append('\r'); break;
                case 'u':
                    if (position + 4 > text.Length
                        || !int.TryParse(text.AsSpan(position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        return $"bad \\u escape at column {position - 1}";
                    }

                    builder.Append((char)code);
                    position += 4;
                    break;
                default:
                    return $"unknown escape '\\{escape}' at column {position - 1}";
            }
        }

        return $"string opened at column {open + 1} is not closed";
    }

    private string ReadSymbolText(int start)
    {
        var end = start;
        while (end < text.Length && !IsDelimiter(text[end]))
        {
            end++;
        }

        return text[start..end];
    }

    private static bool IsDelimiter(char c) =>
        char.IsWhiteSpace(c) || c is ',' or '{' or '}' or '[' or ']' or '"' or ';';

    private void SkipWhitespace()
    {
        while (position < text.Length && (char.IsWhiteSpace(text[position]) || text[position] == ','))
        {
            position++;
        }
    }
}
