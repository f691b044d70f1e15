using System.Buffers.Binary;
using System.IO.Hashing;
using Viewstamped.Messages;

namespace Viewstamped.Tests.Codec;

public class LogEntryChecksumTests
{
    /// <summary>
    /// The checksum is part of the log format (each entry names its parent's), so it must be the XxHash64
    /// of the fields in their documented order whatever the entry's size: small entries are hashed from
    /// one stack buffer, large ones in pieces, and both must agree with hashing the bytes in one go.
    /// </summary>
    [Theory]
    [InlineData(0, 0)]
    [InlineData(100, 8)]
    [InlineData(900, 0)]
    [InlineData(971, 0)]
    [InlineData(972, 0)]
    [InlineData(971, 8)]
    [InlineData(5000, 8)]
    [InlineData(70_000, 16)]
    public void The_checksum_is_the_xxhash64_of_the_fields_then_the_operation_then_the_prediction(int operationLength, int predictionLength)
    {
        var operation = Enumerable.Range(0, operationLength).Select(i => (byte)(i * 7)).ToArray();
        var prediction = Enumerable.Range(0, predictionLength).Select(i => (byte)(i + 3)).ToArray();
        var client = new ClientId(((UInt128)0x0102030405060708 << 64) | 0x1112131415161718);
        var entry = new LogEntry(new OpNumber(42), new View(3), EntryKind.Operation, client, 9, operation, prediction) { Parent = 0xFEEDFACE };

        var expected = new byte[53 + operationLength + predictionLength];
        BinaryPrimitives.WriteUInt64LittleEndian(expected, 42);
        BinaryPrimitives.WriteUInt64LittleEndian(expected.AsSpan(8), 3);
        expected[16] = (byte)EntryKind.Operation;
        BinaryPrimitives.WriteUInt128LittleEndian(expected.AsSpan(17), client.Value);
        BinaryPrimitives.WriteUInt64LittleEndian(expected.AsSpan(33), 9);
        BinaryPrimitives.WriteInt32LittleEndian(expected.AsSpan(41), operationLength);
        BinaryPrimitives.WriteUInt64LittleEndian(expected.AsSpan(45), 0xFEEDFACE);
        operation.CopyTo(expected, 53);
        prediction.CopyTo(expected, 53 + operationLength);

        Assert.Equal(XxHash64.HashToUInt64(expected), entry.Checksum());
    }

    [Fact]
    public void Every_field_changes_the_checksum()
    {
        var entry = new LogEntry(new OpNumber(5), new View(1), EntryKind.Operation, new ClientId(7), 2, [1, 2, 3], [4]) { Parent = 11 };
        LogEntry[] changed =
        [
            entry with { Op = new OpNumber(6) },
            entry with { View = new View(2) },
            entry with { Kind = EntryKind.Register },
            entry with { Client = new ClientId(8) },
            entry with { RequestNumber = 3 },
            entry with { Operation = [1, 2, 4] },
            entry with { Prediction = [5] },
            entry with { Parent = 12 },
        ];

        Assert.All(changed, other => Assert.NotEqual(entry.Checksum(), other.Checksum()));
    }
}
