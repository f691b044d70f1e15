using System.Globalization;
using System.Text;

namespace Viewstamped.Simulation.Linearizability;

/// <summary>Writes histories in the one-map-per-line EDN format that <see cref="EdnHistoryParser"/> reads.</summary>
public static class EdnHistoryWriter
{
    /// <summary>Writes each event on its own line.</summary>
    /// <param name="writer">Where to write.</param>
    /// <param name="events">The events in the order they happened.</param>
    public static void Write(TextWriter writer, IEnumerable<HistoryEvent> events)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            writer.Write(Format(e));
            writer.Write('\n');
        }
    }

    /// <summary>Formats one event as an EDN map, for example <c>{:process 0, :type :invoke, :f :cas, :key "k", :value ["a" "b"]}</c>.</summary>
    /// <param name="historyEvent">The event to format.</param>
    /// <returns>The map, without a line terminator.</returns>
    public static string Format(HistoryEvent historyEvent)
    {
        ArgumentNullException.ThrowIfNull(historyEvent);
        var builder = new StringBuilder(96);
        builder.Append("{:process ").Append(historyEvent.Process.ToString(CultureInfo.InvariantCulture));
        builder.Append(", :type ").Append(historyEvent.Type switch
        {
            HistoryEventType.Invoke => ":invoke",
            HistoryEventType.Ok => ":ok",
            HistoryEventType.Fail => ":fail",
            _ => ":info",
        });
        builder.Append(", :f ").Append(historyEvent.Kind switch
        {
            OperationKind.Read => ":get",
            OperationKind.Write => ":put",
            OperationKind.Append => ":append",
            _ => ":cas",
        });
        builder.Append(", :key ");
        AppendString(builder, historyEvent.Key);
        builder.Append(", :value ");
        if (historyEvent.Kind == OperationKind.Cas)
        {
            builder.Append('[');
            AppendString(builder, historyEvent.Expected);
            builder.Append(' ');
            AppendString(builder, historyEvent.Value);
            builder.Append(']');
        }
        else
        {
            AppendString(builder, historyEvent.Value);
        }

        return builder.Append('}').ToString();
    }

    private static void AppendString(StringBuilder builder, string? value)
    {
        if (value is null)
        {
            builder.Append("nil");
            return;
        }

        builder.Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\t': builder.Append("\\t"); break;
                case '\r': builder.Append("\\r"); break;
                default:
                    if (char.IsControl(c))
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        builder.Append('"');
    }
}
