using System.Buffers.Binary;

namespace Viewstamped;

/// <summary>
/// A checkpoint taken but not yet written: the client table's bytes and the service's snapshot at
/// <see cref="Op"/>, with the builder to write them into. A replica whose service is an
/// <see cref="ISnapshottingService"/> hands one out in <see cref="Ready.Snapshot"/> instead of writing the
/// checkpoint on its loop. The environment calls <see cref="Write"/> on any thread, off the loop, and
/// hands the result back with <see cref="Replica.CheckpointWritten"/>; only then does the replica make
/// it its latest checkpoint, persist it and compact its log. Until then its previous checkpoint and its
/// log stay as they are, so a crash meanwhile loses only this checkpoint.
/// </summary>
/// <remarks>
/// At most one is in flight per replica: a checkpoint due meanwhile is skipped. A driver that has no
/// other thread may write it at once: <c>replica.CheckpointWritten(ready.Snapshot.Write())</c>.
/// </remarks>
public sealed class CheckpointSnapshot
{
    private readonly byte[] table;
    private readonly IServiceSnapshot service;
    private readonly CheckpointBuilder builder;
    private Checkpoint? written;
    private bool started;

    internal CheckpointSnapshot(OpNumber op, byte[] table, IServiceSnapshot service, CheckpointBuilder builder)
    {
        Op = op;
        this.table = table;
        this.service = service;
        this.builder = builder;
    }

    /// <summary>The op the checkpoint is taken after.</summary>
    public OpNumber Op { get; }

    /// <summary>
    /// Writes the checkpoint (the client table, then the service's snapshot) into its builder, builds it
    /// and computes its checksum. Once, from any thread; the replica's loop goes on meanwhile.
    /// </summary>
    /// <exception cref="InvalidOperationException">It was written already.</exception>
    public Checkpoint Write()
    {
        if (started)
        {
            throw new InvalidOperationException($"the checkpoint at op {Op} is written once");
        }

        started = true;
        WriteTable(builder, table);
        service.WriteTo(builder);
        var state = builder.Build();
        written = new Checkpoint(Op, state, state.ComputeChecksum());
        return written;
    }

    /// <summary>True when <paramref name="checkpoint"/> is what <see cref="Write"/> returned.</summary>
    internal bool Wrote(Checkpoint checkpoint) => ReferenceEquals(written, checkpoint);

    /// <summary>Lets the service stop preserving the snapshot (on the replica's loop, after <see cref="Write"/>).</summary>
    internal void Release() => service.Dispose();

    /// <summary>Drops what was written: a newer checkpoint took its place while it was written.</summary>
    internal void Abandon() => builder.Abandon();

    /// <summary>A checkpoint starts with the client table: its length (int32 LE), then its bytes.</summary>
    internal static void WriteTable(CheckpointBuilder writer, byte[] table)
    {
        BinaryPrimitives.WriteInt32LittleEndian(writer.GetSpan(4), table.Length);
        writer.Advance(4);
        writer.Write(table);
    }
}
