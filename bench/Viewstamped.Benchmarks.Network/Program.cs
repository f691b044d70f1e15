using System.Globalization;
using Viewstamped.Benchmarks.Network;

// Network benchmarks, bounded in time: plain TCP next to the replica transport on loopback,
// end-to-end request throughput, and failover time of replica processes with default timeouts.
// Usage: dotnet run -c Release --project bench/Viewstamped.Benchmarks.Network [-- --seconds S --trials N]
var seconds = 3.0;
var trials = 5;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--seconds":
            seconds = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
        case "--trials":
            trials = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
    }
}

var duration = TimeSpan.FromSeconds(seconds);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}, {duration.TotalSeconds:0.#} s per measurement");
Console.WriteLine();
Console.WriteLine("loopback, 64-byte messages                         messages/s");
Report("plain .NET TCP ping-pong (round trips)", await TransportBenchmarks.PlainPingPongAsync(duration));
Report("replica transport ping-pong, unauthenticated", await TransportBenchmarks.TransportPingPongAsync(duration, LinkSecurity.None));
Report("replica transport ping-pong, HMAC per frame", await TransportBenchmarks.TransportPingPongAsync(duration, LinkSecurity.Hmac));
Report("replica transport ping-pong, mutual TLS", await TransportBenchmarks.TransportPingPongAsync(duration, LinkSecurity.Tls));
Report("plain .NET TCP streaming, buffered", await TransportBenchmarks.PlainStreamingAsync(duration));
Report("replica transport streaming, unauthenticated", await TransportBenchmarks.TransportStreamingAsync(duration, LinkSecurity.None));
Report("replica transport streaming, HMAC per frame", await TransportBenchmarks.TransportStreamingAsync(duration, LinkSecurity.Hmac));
Report("replica transport streaming, mutual TLS", await TransportBenchmarks.TransportStreamingAsync(duration, LinkSecurity.Tls));
Console.WriteLine();
Console.WriteLine("end to end, Adder, memory storage, key, 64 sessions   requests/s");
Report("1 replica", await ClusterBenchmarks.RequestsPerSecondAsync(1, 64, duration));
Report("3 replicas", await ClusterBenchmarks.RequestsPerSecondAsync(3, 64, duration));
Console.WriteLine();

var cli = ClusterBenchmarks.FindCli();
Console.WriteLine($"failover, 3 replica processes, file storage, default timeouts ({trials} trials)");
var results = new List<double>();
for (var trial = 0; trial < trials; trial++)
{
    var failover = await ClusterBenchmarks.FailoverSecondsAsync(cli, TimeSpan.FromSeconds(60));
    results.Add(failover);
    Console.WriteLine($"  trial {trial + 1}: {failover * 1000,8:0} ms from SIGKILL of the primary to the first write committed in the new view");
}

results.Sort();
Console.WriteLine($"  min {results[0] * 1000:0} ms, median {results[results.Count / 2] * 1000:0} ms, max {results[^1] * 1000:0} ms");

static void Report(string what, double rate) => Console.WriteLine($"  {what,-48} {rate,12:N0}");
