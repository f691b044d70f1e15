using Viewstamped.Messages;

namespace Viewstamped.Runtime.Host;

/// <summary>
/// Which of a primary's messages may leave before the Ready that holds them is durable. Without it,
/// every request waits for two fsyncs in a row: the primary's (before its Prepare may leave), then
/// the backup's (before its PrepareOk may leave), and its reply waits again for whatever unrelated
/// entries the Ready that commits it appended. With it, the primary's Prepares leave while its own
/// write runs, so its fsync and the backups' overlap, and a reply leaves as soon as the op it
/// answers is durable at the primary. The driver loop hands every Ready to <see cref="Queue"/> as it
/// starts persisting it, and to <see cref="Durable"/> once that Ready is durable, both in the order
/// the readies were taken.
/// </summary>
/// <remarks>
/// <para>
/// Why this is safe. The durability contract (<see cref="Ready"/>) exists because a message may
/// vouch for durable state: a PrepareOk says "this op is on my disk", a DoViewChange or StartView
/// promises a view. An op is committed once the primary and f backups have it durably; what must
/// never happen is that anyone learns of a commit before that holds. So:
/// </para>
/// <list type="bullet">
/// <item>Backups send nothing ahead: a PrepareOk still leaves only after the backup's own fsync.</item>
/// <item>A reply leaves ahead only when the op it answers is at or below the primary's durable log
/// head (every entry up to it is on the primary's disk), and it is committed, so f backups have it
/// durably too. Its result is what re-executing that durable log gives.</item>
/// <item>A Prepare carries no promise about the primary's disk: it asks the backup to store entries.
/// But it also carries a commit number, up to which the backup executes; a Prepare sent ahead carries
/// at most the primary's durable log head (a copy with a lower commit number is made when needed;
/// a lower commit number is always allowed, the backup learns the rest from the next Prepare or
/// Commit). So no replica executes an op that is not durable at f+1 replicas, the quorum every
/// later view change intersects.</item>
/// <item>Commit messages, and everything that is not a Prepare or a reply, stay in their Ready.</item>
/// <item>Only a normal primary sends ahead, only from a Ready that changes nothing durable but the
/// log's tail and the commit number (no new view, no truncation, no checkpoint, no compaction), and
/// only when every earlier "barrier" Ready has been sent: a StartView, or a view's first durable
/// hard state, always leaves before the Prepares and replies that depend on it.</item>
/// </list>
/// <para>
/// If the primary crashes before its own write is durable, the entries it sent ahead are at most on
/// the backups' disks and uncommitted as far as anyone can tell; the view change keeps or drops them
/// like any other uncommitted op. The persisted commit number may then lag what clients were told,
/// which is allowed: the log is what must be durable, and a restarted replica recovers the rest.
/// </para>
/// </remarks>
internal sealed class SendAhead
{
    private (View View, View LogView) views;
    private OpNumber durableHead;
    private int barriersUnsent;

    /// <summary>Starts from what storage loaded.</summary>
    public SendAhead(DurableState durable)
    {
        ArgumentNullException.ThrowIfNull(durable);
        views = (durable.HardState.View, durable.HardState.LogView);
        durableHead = durable.LogHead;
    }

    /// <summary>The op up to which the log is durable, as far as completed writes tell.</summary>
    public OpNumber DurableHead => durableHead;

    /// <summary>
    /// Registers <paramref name="ready"/>, whose persistence just started, and moves what may leave at
    /// once out of it: its Prepares into <paramref name="prepares"/> (with the commit number lowered
    /// to the durable log head where needed), its replies for durable ops into <paramref name="replies"/>.
    /// </summary>
    /// <param name="ready">The Ready just handed to storage.</param>
    /// <param name="normalPrimary">The replica is the primary in normal status, after the steps that made the Ready.</param>
    /// <param name="persistPending">The write is still running (otherwise there is nothing to gain).</param>
    /// <param name="prepares">Receives the Prepare envelopes to send now.</param>
    /// <param name="replies">Receives the replies to send now.</param>
    /// <returns>Whether this Ready is a barrier; pass it back to <see cref="Durable"/>.</returns>
    public bool Queue(Ready ready, bool normalPrimary, bool persistPending, List<Envelope> prepares, List<Reply> replies)
    {
        ArgumentNullException.ThrowIfNull(ready);
        ArgumentNullException.ThrowIfNull(prepares);
        ArgumentNullException.ThrowIfNull(replies);
        var barrier = !normalPrimary || ready.Checkpoint is not null || ready.CompactBefore is not null;
        foreach (var change in ready.LogChanges)
        {
            barrier |= change.Kind != LogChangeKind.Append;
        }

        if (ready.HardState is { } hardState)
        {
            barrier |= (hardState.View, hardState.LogView) != views;
            views = (hardState.View, hardState.LogView);
        }

        if (barrier)
        {
            barriersUnsent++;
            return true;
        }

        if (!persistPending || barriersUnsent > 0)
        {
            return false;
        }

        Message? original = null;
        Message? ahead = null;
        foreach (var envelope in ready.Messages)
        {
            if (envelope.Message is not Prepare prepare)
            {
                continue;
            }

            if (!ReferenceEquals(prepare, original))
            {
                original = prepare;
                ahead = prepare.CommitNumber <= durableHead ? prepare : prepare with { CommitNumber = durableHead };
            }

            prepares.Add(envelope with { Message = ahead! });
        }

        ready.Messages.RemoveAll(static e => e.Message is Prepare);
        TakeDurableReplies(ready, barrier: false, replies);
        return false;
    }

    /// <summary>
    /// Records that <paramref name="ready"/> (registered earlier, and every Ready before it) is durable.
    /// Returns true when readies still waiting may now hold replies that can leave: the caller then hands
    /// each of them, in order, to <see cref="TakeDurableReplies"/> until that returns false.
    /// </summary>
    public bool Durable(Ready ready, bool barrier)
    {
        ArgumentNullException.ThrowIfNull(ready);
        var before = durableHead;
        foreach (var change in ready.LogChanges)
        {
            durableHead = change.Kind switch
            {
                LogChangeKind.Append => change.Op,
                LogChangeKind.TruncateAfter => change.Op < durableHead ? change.Op : durableHead,
                _ => change.Op,
            };
        }

        if (barrier)
        {
            barriersUnsent--;
        }

        return durableHead > before || barrier;
    }

    /// <summary>
    /// Moves the replies of <paramref name="waiting"/> (a Ready registered with <see cref="Queue"/> and not yet
    /// durable) for ops now durable into <paramref name="replies"/>. Returns false, taking nothing, when
    /// <paramref name="waiting"/> is a barrier: nothing after a barrier leaves ahead of it.
    /// </summary>
    public bool TakeDurableReplies(Ready waiting, bool barrier, List<Reply> replies)
    {
        ArgumentNullException.ThrowIfNull(waiting);
        ArgumentNullException.ThrowIfNull(replies);
        if (barrier)
        {
            return false;
        }

        var head = durableHead;
        var kept = 0;
        var all = waiting.Replies;
        for (var i = 0; i < all.Count; i++)
        {
            if (all[i].Op <= head)
            {
                replies.Add(all[i]);
            }
            else
            {
                all[kept++] = all[i];
            }
        }

        all.RemoveRange(kept, all.Count - kept);
        return true;
    }
}
