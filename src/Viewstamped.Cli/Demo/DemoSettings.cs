namespace Viewstamped.Cli.Demo;

/// <summary>What <c>vsr demo</c> was asked to run.</summary>
/// <param name="DurationSeconds">How long the clients run; the primary is killed at 30% of it and restarted at 55%.</param>
/// <param name="Clients">Concurrent closed-loop clients.</param>
/// <param name="Live">Show the live view (a terminal); otherwise print plain progress lines.</param>
public sealed record DemoSettings(double DurationSeconds, int Clients, bool Live)
{
    /// <summary>When the primary is killed, as a fraction of the duration.</summary>
    public const double KillAt = 0.30;

    /// <summary>When the killed replica is restarted, as a fraction of the duration.</summary>
    public const double RestartAt = 0.55;

    /// <summary>The problems with these settings, one sentence each; empty when they are fine.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(DurationSeconds is >= 4 and <= 3600))
        {
            errors.Add("--duration must be 4 to 3600 seconds");
        }

        if (Clients is < 1 or > 64)
        {
            errors.Add("--clients must be 1 to 64");
        }

        return errors;
    }
}
