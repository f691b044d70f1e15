using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Viewstamped.KeyValue;

/// <summary>
/// The encoding of a replicated command as the operation bytes of a log entry: one byte of
/// <see cref="CommandCode"/>, the argument count after the name as an unsigned LEB128 varint, then
/// each argument as a varint length and its bytes. The name is not stored (the code says it), so
/// <c>SET k v</c> takes 7 bytes. The encoding is part of the log format.
/// </summary>
public static class KeyValueOperation
{
    /// <summary>Encodes a replicated command; throws when it is not one (see <see cref="TryEncode"/>).</summary>
    public static byte[] Encode(RespCommand command) =>
        TryEncode(command, out var operation)
            ? operation
            : throw new ArgumentException($"'{command.Name}' is not a replicated command", nameof(command));

    /// <summary>Encodes <paramref name="command"/>; false when it is not a replicated command.</summary>
    public static bool TryEncode(RespCommand command, [NotNullWhen(true)] out byte[]? operation)
    {
        operation = null;
        if (!CommandClassifier.TryGetSpec(command[0], out var spec) || !spec.IsReplicated)
        {
            return false;
        }

        var size = 1L + VarInt.SizeOf((uint)(command.Count - 1));
        for (var i = 1; i < command.Count; i++)
        {
            size += PrefixedSize(command[i].Length);
        }

        if (size > Array.MaxLength)
        {
            return false;
        }

        operation = new byte[size];
        operation[0] = (byte)spec.Code;
        var at = 1 + VarInt.Write(operation.AsSpan(1), (uint)(command.Count - 1));
        for (var i = 1; i < command.Count; i++)
        {
            at += WritePrefixed(command[i], operation.AsSpan(at));
        }

        return true;
    }

    /// <summary>
    /// The length of the operation for a command given in place: <paramref name="arguments"/> are
    /// ranges of <paramref name="request"/>, the command name first (not stored).
    /// </summary>
    public static long SizeOf(ReadOnlySpan<byte> request, ReadOnlySpan<Range> arguments)
    {
        var size = 1L + VarInt.SizeOf((uint)(arguments.Length - 1));
        for (var i = 1; i < arguments.Length; i++)
        {
            size += PrefixedSize(arguments[i].GetOffsetAndLength(request.Length).Length);
        }

        return size;
    }

    /// <summary>Writes the operation of a command given in place (see <see cref="SizeOf"/>) to exactly that many bytes of <paramref name="destination"/>.</summary>
    internal static void Write(CommandCode code, ReadOnlySpan<byte> request, ReadOnlySpan<Range> arguments, Span<byte> destination)
    {
        destination[0] = (byte)code;
        var at = 1 + VarInt.Write(destination[1..], (uint)(arguments.Length - 1));
        for (var i = 1; i < arguments.Length; i++)
        {
            at += WritePrefixed(request[arguments[i]], destination[at..]);
        }
    }

    /// <summary>
    /// Encodes a run of operations (each from <see cref="TryEncode"/>) as one: the code
    /// <see cref="CommandCode.Batch"/>, the count, then each operation as a varint length and its
    /// bytes. Executing it executes each in order and replies with their replies concatenated, so a
    /// RESP server forwards the reply verbatim for the whole pipeline. Batches do not nest.
    /// </summary>
    public static byte[] EncodeBatch(IReadOnlyList<byte[]> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        var size = 1L + VarInt.SizeOf((uint)operations.Count);
        foreach (var operation in operations)
        {
            if (operation.Length == 0 || operation[0] == (byte)CommandCode.Batch)
            {
                throw new ArgumentException("a batch holds encoded commands, not empty operations or batches", nameof(operations));
            }

            size += PrefixedSize(operation.Length);
        }

        var batch = new byte[size];
        batch[0] = (byte)CommandCode.Batch;
        var at = 1 + VarInt.Write(batch.AsSpan(1), (uint)operations.Count);
        foreach (var operation in operations)
        {
            at += WritePrefixed(operation, batch.AsSpan(at));
        }

        return batch;
    }

    /// <summary>
    /// The request for <paramref name="runs"/> executed in order: the lone operation when they hold
    /// one in all, else a batch (<see cref="EncodeBatch(IReadOnlyList{byte[]})"/>) of every run's
    /// operations, each run's items copied once.
    /// </summary>
    public static byte[] EncodeBatch(IReadOnlyList<OperationRun> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var count = 0L;
        var bytes = 0L;
        OperationRun? nonEmpty = null;
        foreach (var run in runs)
        {
            count += run.Count;
            bytes += run.Length;
            nonEmpty = run.Count > 0 ? run : nonEmpty;
        }

        if (count == 0)
        {
            throw new ArgumentException("a batch holds at least one operation", nameof(runs));
        }

        if (count == 1)
        {
            return nonEmpty!.First.ToArray();
        }

        var size = 1 + VarInt.SizeOf((uint)count) + bytes;
        if (count > int.MaxValue || size > Array.MaxLength)
        {
            throw new ArgumentException("the batch would exceed the largest array", nameof(runs));
        }

        var batch = new byte[size];
        batch[0] = (byte)CommandCode.Batch;
        var at = 1 + VarInt.Write(batch.AsSpan(1), (uint)count);
        foreach (var run in runs)
        {
            run.Items.CopyTo(batch.AsSpan(at));
            at += run.Length;
        }

        return batch;
    }

    /// <summary>Encodes a command given as strings (UTF-8), e.g. <c>Encode("SET", "k", "v")</c>.</summary>
    public static byte[] Encode(params string[] arguments) => Encode(RespCommand.FromStrings(arguments));

    /// <summary>Decodes an operation back to the command (with its lower-case name), for tools and logs.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> operation, [NotNullWhen(true)] out RespCommand? command)
    {
        command = null;
        var ranges = Array.Empty<Range>();
        if (!TryParse(operation, ref ranges, out var code, out var count) || CommandClassifier.SpecOf(code) is not { } spec)
        {
            return false;
        }

        var arguments = new byte[count + 1][];
        arguments[0] = Encoding.ASCII.GetBytes(spec.Name);
        for (var i = 0; i < count; i++)
        {
            arguments[i + 1] = operation[ranges[i]].ToArray();
        }

        command = new RespCommand(arguments);
        return true;
    }

    /// <summary>
    /// Splits an operation into its code and the ranges of its arguments (the name excluded), reusing
    /// <paramref name="ranges"/> when it is large enough. False when the bytes are not a well-formed operation.
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<byte> operation, ref Range[] ranges, out CommandCode code, out int count)
    {
        code = CommandCode.None;
        count = 0;
        if (operation.IsEmpty)
        {
            return false;
        }

        code = (CommandCode)operation[0];
        var at = 1;
        if (!VarInt.TryRead(operation[at..], out var argc, out var used) || argc > (uint)(operation.Length - at - used))
        {
            // Every argument takes at least one byte, which bounds the count before allocating.
            return false;
        }

        at += used;
        count = (int)argc;
        if (ranges.Length < count)
        {
            ranges = new Range[Math.Max(count, ranges.Length * 2)];
        }

        for (var i = 0; i < count; i++)
        {
            if (!VarInt.TryRead(operation[at..], out var length, out used) || length > (uint)(operation.Length - at - used))
            {
                return false;
            }

            at += used;
            ranges[i] = new Range(at, at + (int)length);
            at += (int)length;
        }

        return at == operation.Length;
    }

    /// <summary>The size of <paramref name="length"/> bytes written by <see cref="WritePrefixed"/>.</summary>
    private static long PrefixedSize(int length) => VarInt.SizeOf((uint)length) + length;

    /// <summary>Writes <paramref name="bytes"/> as a varint length and the bytes (an argument, or an operation in a batch); returns the bytes written.</summary>
    private static int WritePrefixed(ReadOnlySpan<byte> bytes, Span<byte> destination)
    {
        var at = VarInt.Write(destination, (uint)bytes.Length);
        bytes.CopyTo(destination[at..]);
        return at + bytes.Length;
    }
}
