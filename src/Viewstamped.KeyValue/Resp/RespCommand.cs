using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>
/// A command as a client sent it: its arguments, the first being the command name. Arguments are
/// binary-safe byte strings; the command owns them (the reader copied them out of the stream).
/// </summary>
public sealed class RespCommand
{
    private readonly byte[][] arguments;

    /// <summary>Wraps <paramref name="arguments"/> (not copied); there must be at least one.</summary>
    public RespCommand(byte[][] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentOutOfRangeException.ThrowIfZero(arguments.Length);
        this.arguments = arguments;
    }

    /// <summary>The arguments, the command name first.</summary>
    public IReadOnlyList<byte[]> Arguments => arguments;

    /// <summary>The number of arguments, the command name included.</summary>
    public int Count => arguments.Length;

    /// <summary>Argument <paramref name="index"/> (0 is the command name).</summary>
    public ReadOnlySpan<byte> this[int index] => arguments[index];

    /// <summary>The command name as sent, one character per byte.</summary>
    public string Name => Encoding.Latin1.GetString(arguments[0]);

    /// <summary>Builds a command from strings, each encoded as UTF-8 (tests, tools).</summary>
    public static RespCommand FromStrings(params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return new RespCommand(arguments.Select(Encoding.UTF8.GetBytes).ToArray());
    }

    /// <summary>The command in the request form clients send: an array of bulk strings.</summary>
    public byte[] ToResp() => Resp.Array(arguments);

    /// <summary>A readable form: the arguments quoted, with non-printable bytes escaped.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        foreach (var argument in arguments)
        {
            if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append('"');
            foreach (var b in argument)
            {
                text.Append(b switch
                {
                    (byte)'"' => "\\\"",
                    (byte)'\\' => "\\\\",
                    >= 0x20 and < 0x7F => ((char)b).ToString(),
                    _ => $"\\x{b:x2}",
                });
            }

            text.Append('"');
        }

        return text.ToString();
    }
}
