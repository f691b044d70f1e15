using System.Diagnostics;
using Xunit.Abstractions;

namespace Viewstamped.KeyValue.Tests;

[CollectionDefinition(nameof(MemoryTests), DisableParallelization = true)]
public sealed class MemoryCollection;

/// <summary>
/// Measures what keys cost; prints the figures (<c>dotnet test --logger "console;verbosity=detailed"</c>)
/// and asserts only a generous bound. 100k keys by default, to keep the suite fast; set
/// VIEWSTAMPED_KV_MEMORY_KEYS=1000000 to measure a million.
/// </summary>
[Collection(nameof(MemoryTests))]
public sealed class MemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void Keys_with_100_byte_values()
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("VIEWSTAMPED_KV_MEMORY_KEYS"), out var keys) ? keys : 100_000;
        var value = new byte[100];
        Array.Fill(value, (byte)'x');
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var clock = new Stopwatch();
        clock.Start();
        var service = new KeyValueService(() => 1_000_000);
        var prediction = BitConverter.GetBytes(1_000_000L);
        var key = "key:0000000"u8.ToArray(); // 11 bytes
        for (var i = 0; i < count; i++)
        {
            i.TryFormat(key.AsSpan(4), out _, "D7");
            var operation = KeyValueOperation.Encode(new RespCommand([[.. "SET"u8], key, value]));
            service.Execute(operation, prediction);
        }

        var loaded = clock.Elapsed;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var perKey = (after - before) / (double)count;

        clock.Restart();
        var checkpoint = service.WriteCheckpoint();
        var written = clock.Elapsed;
        clock.Restart();
        var restored = new KeyValueService(() => 0);
        restored.RestoreCheckpoint(checkpoint);
        var read = clock.Elapsed;

        output.WriteLine($"{count:N0} keys of 11 bytes with 100-byte values: {(after - before) / 1048576.0:F1} MiB managed, {perKey:F1} bytes a key");
        output.WriteLine($"load {loaded.TotalMilliseconds:F0} ms; checkpoint {checkpoint.Length / 1048576.0:F1} MiB written in {written.TotalMilliseconds:F0} ms, restored in {read.TotalMilliseconds:F0} ms");
        Assert.Equal(count, service.Count);
        Assert.Equal(count, restored.Count);
        Assert.True(perKey < 250, $"{perKey:F1} bytes a key");
        GC.KeepAlive(service);
    }
}
