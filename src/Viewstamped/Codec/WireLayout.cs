namespace Viewstamped.Codec;

/// <summary>
/// The fixed frame header, byte by byte. Every integer is little-endian. A frame is this header
/// followed by exactly as many body bytes as the header's body size field says;
/// docs/wire-format.md describes the same layout and every message body.
/// </summary>
public static class WireLayout
{
    /// <summary>The first four bytes of every frame: ASCII "VSR1" read as a little-endian u32.</summary>
    public const uint Magic = 0x3152_5356;

    /// <summary>
    /// The only wire-format version this codec reads and writes. Version 2 added each log entry's
    /// parent checksum and the RequestEntry and RepairEntry messages.
    /// </summary>
    public const ushort Version = 2;

    /// <summary>Offset of the magic (u32).</summary>
    public const int MagicOffset = 0;

    /// <summary>Offset of the version (u16).</summary>
    public const int VersionOffset = 4;

    /// <summary>Offset of the command (u8), the <see cref="Messages.Command"/> value.</summary>
    public const int CommandOffset = 6;

    /// <summary>Offset of the sender's replica index (u8; 255 for clients).</summary>
    public const int ReplicaOffset = 7;

    /// <summary>Offset of the cluster id (u128: low 64 bits first).</summary>
    public const int ClusterOffset = 8;

    /// <summary>Offset of the configuration epoch (u32).</summary>
    public const int EpochOffset = 24;

    /// <summary>Offset of the sender's view (u64).</summary>
    public const int ViewOffset = 28;

    /// <summary>Offset of the body size in bytes (u32).</summary>
    public const int BodySizeOffset = 36;

    /// <summary>Offset of the body checksum (u64): XXH3-64, seed 0, of the body bytes.</summary>
    public const int BodyChecksumOffset = 40;

    /// <summary>Offset of the header checksum (u64): XXH3-64, seed 0, of header bytes 0 to 47.</summary>
    public const int HeaderChecksumOffset = 48;

    /// <summary>The size of the fixed header in bytes; the body starts here.</summary>
    public const int HeaderSize = 56;

    /// <summary>The default largest frame (header plus body): 16 MiB.</summary>
    public const int DefaultMessageSizeMax = 16 * 1024 * 1024;

    /// <summary>The largest frame size a codec may be configured with: 1 GiB.</summary>
    public const int MessageSizeMaxLimit = 1024 * 1024 * 1024;

    /// <summary>The smallest encoded log entry: five fixed fields, two empty byte strings and the parent checksum.</summary>
    public const int LogEntryMinSize = 8 + 8 + 1 + 16 + 8 + 4 + 4 + 8;
}
