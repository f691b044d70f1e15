namespace Viewstamped.KeyValue;

/// <summary>
/// Splits an inline command line into arguments the way Redis does (<c>sdssplitargs</c>): words
/// separated by blanks; "double quotes" with the escapes \n \r \t \b \a \\ \" and \xHH; 'single
/// quotes' with \' only. A closing quote must be followed by a blank or the end of the line; an
/// unterminated quote is an error. A NUL byte ends the line.
/// </summary>
internal static class InlineSplitter
{
    public static bool TrySplit(ReadOnlySpan<byte> line, List<byte[]> result)
    {
        var scratch = new byte[line.Length];
        var p = 0;
        while (true)
        {
            while (IsSpace(At(line, p)))
            {
                p++;
            }

            if (At(line, p) == 0)
            {
                return true;
            }

            var inDouble = false;
            var inSingle = false;
            var done = false;
            var length = 0;
            while (!done)
            {
                var c = At(line, p);
                if (inDouble)
                {
                    if (c == '\\' && At(line, p + 1) == 'x' && IsHex(At(line, p + 2)) && IsHex(At(line, p + 3)))
                    {
                        scratch[length++] = (byte)((HexValue(At(line, p + 2)) << 4) | HexValue(At(line, p + 3)));
                        p += 3;
                    }
                    else if (c == '\\' && At(line, p + 1) != 0)
                    {
                        p++;
                        scratch[length++] = At(line, p) switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        };
                    }
                    else if (c == '"')
                    {
                        if (At(line, p + 1) != 0 && !IsSpace(At(line, p + 1)))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == 0)
                    {
                        return false;
                    }
                    else
                    {
                        scratch[length++] = c;
                    }
                }
                else if (inSingle)
                {
                    if (c == '\\' && At(line, p + 1) == '\'')
                    {
                        p++;
                        scratch[length++] = (byte)'\'';
                    }
                    else if (c == '\'')
                    {
                        if (At(line, p + 1) != 0 && !IsSpace(At(line, p + 1)))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == 0)
                    {
                        return false;
                    }
                    else
                    {
                        scratch[length++] = c;
                    }
                }
                else
                {
                    switch (c)
                    {
                        case (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0:
                            done = true;
                            break;
                        case (byte)'"':
                            inDouble = true;
                            break;
                        case (byte)'\'':
                            inSingle = true;
                            break;
                        default:
                            scratch[length++] = c;
                            break;
                    }
                }

                if (At(line, p) != 0)
                {
                    p++;
                }
            }

            result.Add(scratch.AsSpan(0, length).ToArray());
        }
    }

    private static byte At(ReadOnlySpan<byte> line, int index) => index < line.Length ? line[index] : (byte)0;

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    private static bool IsHex(byte c) => c is >= (byte)'0' and <= (byte)'9' or >= (byte)'a' and <= (byte)'f' or >= (byte)'A' and <= (byte)'F';

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };
}
