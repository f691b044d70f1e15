namespace Viewstamped.Codec;

/// <summary>Why a frame was rejected; <see cref="MessageCodec.Decode"/> lists the order of the checks.</summary>
public enum DecodeError : byte
{
    /// <summary>The frame decoded.</summary>
    None = 0,

    /// <summary>Fewer bytes than the fixed header, or than the header's body size announces.</summary>
    TooShort = 1,

    /// <summary>The frame does not start with <see cref="WireLayout.Magic"/>.</summary>
    BadMagic = 2,

    /// <summary>The version is not <see cref="WireLayout.Version"/>.</summary>
    UnsupportedVersion = 3,

    /// <summary>The header checksum does not match the header bytes.</summary>
    HeaderChecksumMismatch = 4,

    /// <summary>The header names another cluster.</summary>
    WrongCluster = 5,

    /// <summary>The command byte names no known message.</summary>
    UnknownCommand = 6,

    /// <summary>The header announces a frame larger than the codec's message size limit.</summary>
    TooLarge = 7,

    /// <summary>More bytes than the header's body size announces, or body bytes the message does not use.</summary>
    TrailingBytes = 8,

    /// <summary>The body checksum does not match the body bytes.</summary>
    BodyChecksumMismatch = 9,

    /// <summary>The body is cut short, a length or count exceeds the bytes left, or an enum value is unknown.</summary>
    MalformedBody = 10,
}
