using System.Globalization;
using System.Text.Json;
using StemeDb.Cluster.Time;
using StemeDb.Contracts;
using StemeDb.Storage;

// usage: StemeDb.Storage.CrashWriter <data-dir> <sync true|false> <max-writes> [writers]
// Each of `writers` concurrent writers (1 by default) writes one assertion at a time and prints
// "ack <subject> <id>" only after its write completed: the line is the acknowledgement. With several
// writers their writes share groups (one sync for all that wait). Bounded by max-writes per writer; the
// test kills it long before.
if (args.Length is < 3 or > 4 || !bool.TryParse(args[1], out bool sync) || !int.TryParse(args[2], CultureInfo.InvariantCulture, out int max)
    || !int.TryParse(args.Length == 4 ? args[3] : "1", CultureInfo.InvariantCulture, out int writers) || writers < 1)
{
    Console.Error.WriteLine("usage: <data-dir> <sync true|false> <max-writes> [writers]");
    return 2;
}

using RocksDbAssertionStore store = RocksDbAssertionStore.Open(new StorageOptions { DataDirectory = args[0], SyncWrites = sync }, 64);
using JsonDocument value = JsonDocument.Parse("\"payload\"");
await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
{
    for (int i = 0; i < max; i++)
    {
        var assertion = new Assertion($"crash:{w}:{i}", "n", value.RootElement, null, null, new HlcTimestamp(i + 1, 0));
        await store.WriteAsync([assertion]);
        Console.Out.WriteLine($"ack {assertion.Subject} {assertion.Id}"); // Console.Out is synchronized
        Console.Out.Flush();
    }
})));

return 0;
