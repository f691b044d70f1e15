using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Viewstamped.Messages;

namespace Viewstamped.Codec;

/// <summary>
/// The outcome of <see cref="MessageCodec.Decode"/>: a message, or an error with the byte offset
/// where it was found and a fixed reason. Building an error allocates nothing.
/// </summary>
public readonly struct DecodeResult
{
    private readonly string? reason;

    private DecodeResult(Message? message, DecodeError error, int offset, string? reason)
    {
        Message = message;
        Error = error;
        Offset = offset;
        this.reason = reason;
    }

    /// <summary>The decoded message, or null when <see cref="Error"/> is not <see cref="DecodeError.None"/>.</summary>
    public Message? Message { get; }

    /// <summary><see cref="DecodeError.None"/> on success, otherwise why the frame was rejected.</summary>
    public DecodeError Error { get; }

    /// <summary>The byte offset in the frame at which the error was detected; 0 on success.</summary>
    public int Offset { get; }

    /// <summary>A short fixed explanation of the error; empty on success.</summary>
    public string Reason => reason ?? string.Empty;

    /// <summary>True when the frame decoded; <see cref="Message"/> is then not null.</summary>
    [MemberNotNullWhen(true, nameof(Message))]
    public bool IsSuccess => Error == DecodeError.None && Message is not null;

    /// <summary>A human-readable one-line description of the error, e.g. <c>BadMagic at byte 0: ...</c>.</summary>
    public string ErrorMessage => IsSuccess
        ? "ok"
        : string.Create(CultureInfo.InvariantCulture, $"{Error} at byte {Offset}: {Reason}");

    /// <summary>A successful result.</summary>
    internal static DecodeResult Ok(Message message) => new(message, DecodeError.None, 0, null);

    /// <summary>A failed result.</summary>
    internal static DecodeResult Fail(DecodeError error, int offset, string reason) => new(null, error, offset, reason);

    /// <inheritdoc />
    public override string ToString() => IsSuccess ? MessageEquality.Describe(Message) : ErrorMessage;
}
