using Viewstamped.Samples;
using Viewstamped.Simulation;

namespace Viewstamped.Tests.Scenarios;

/// <summary>
/// Drives clients that each add distinct positive values to the Adder, and checks what they saw:
/// sorted by op, every reply is the previous total plus that request's value — which holds only if
/// every request executed exactly once, in log order (at-most-once and linearizability for the Adder).
/// </summary>
internal sealed class AdderWorkload(Cluster cluster, int requestsPerClient)
{
    // A list, not a dictionary keyed by client: iteration order must not depend on object hashes.
    private readonly List<(SimulatedClient Client, int Count)> submitted = [];

    public int Submitted => submitted.Sum(pair => pair.Count);

    public void AddClients(int count)
    {
        for (var i = 0; i < count; i++)
        {
            submitted.Add((cluster.AddClient(), 0));
        }
    }

    /// <summary>Keeps every idle client busy until each has submitted its share.</summary>
    public void Pump()
    {
        for (var i = 0; i < submitted.Count; i++)
        {
            var (client, count) = submitted[i];
            if (client.IsIdle && count < requestsPerClient)
            {
                submitted[i] = (client, count + 1);
                cluster.Submit(client, Adder.Encode(ValueOf(client, count + 1)));
            }
        }
    }

    public bool Done => submitted.All(pair => pair.Client.Completed.Count == requestsPerClient);

    /// <summary>Runs the workload until every request completed, with the checks on.</summary>
    public bool Run(int ticksMax, Action<int>? everyTick = null)
    {
        for (var tick = 0; tick < ticksMax; tick++)
        {
            if (Done)
            {
                return true;
            }

            Pump();
            everyTick?.Invoke(tick);
            cluster.Tick();
        }

        return Done;
    }

    public int Completed => submitted.Sum(pair => pair.Client.Completed.Count);

    /// <summary>Asserts every completed reply equals the running total at its op.</summary>
    public void AssertRepliesMatchLog()
    {
        var completions = submitted.SelectMany(pair => pair.Client.Completed).OrderBy(c => c.Op.Value).ToList();
        var ops = completions.Select(c => c.Op.Value).ToList();
        Assert.Equal(ops.Count, ops.Distinct().Count());
        long total = 0;
        foreach (var completion in completions)
        {
            total += Adder.Decode(completion.Operation);
            Assert.Equal((int)total, Adder.Decode(completion.Result));
        }
    }

    private static int ValueOf(SimulatedClient client, int requestNumber) =>
        1 + (int)((client.Session.Id.Value % 97) + (ulong)requestNumber * 7 % 13);
}
