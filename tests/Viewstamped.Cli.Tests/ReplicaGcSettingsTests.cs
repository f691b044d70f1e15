using System.Diagnostics;
using Viewstamped.Cli.Runtime;

namespace Viewstamped.Cli.Tests;

public class ReplicaGcSettingsTests
{
    [Fact]
    public void A_replica_gets_the_gen0_budget_unless_its_environment_names_one()
    {
        var plain = new ProcessStartInfo("vsr");
        plain.Environment.Remove(ReplicaGcSettings.Gen0MaxBudgetVariable);
        ReplicaGcSettings.Apply(plain);
        Assert.Equal("0x1000000", plain.Environment[ReplicaGcSettings.Gen0MaxBudgetVariable]);

        var chosen = new ProcessStartInfo("vsr");
        chosen.Environment[ReplicaGcSettings.Gen0MaxBudgetVariable] = "0x2000000";
        ReplicaGcSettings.Apply(chosen);
        Assert.Equal("0x2000000", chosen.Environment[ReplicaGcSettings.Gen0MaxBudgetVariable]);
    }
}
