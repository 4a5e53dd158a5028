using System.Globalization;
using System.Text.Json;
using StemeDb.Cluster.Time;
using StemeDb.Contracts;
using StemeDb.Storage;

// usage: StemeDb.Storage.CrashWriter <data-dir> <sync true|false> <max-writes>
// Writes one assertion at a time and prints "ack <subject> <id>" only after Write returned: the line is
// the acknowledgement. Bounded by max-writes; the test kills it long before.
if (args.Length != 3 || !bool.TryParse(args[1], out bool sync) || !int.TryParse(args[2], CultureInfo.InvariantCulture, out int max))
{
    Console.Error.WriteLine("usage: <data-dir> <sync true|false> <max-writes>");
    return 2;
}

using RocksDbAssertionStore store = RocksDbAssertionStore.Open(new StorageOptions { DataDirectory = args[0], SyncWrites = sync }, 64);
using JsonDocument value = JsonDocument.Parse("\"payload\"");
for (int i = 0; i < max; i++)
{
    var assertion = new Assertion($"crash:{i}", "n", value.RootElement, null, null, new HlcTimestamp(i + 1, 0));
    store.Write([assertion]);
    Console.Out.WriteLine($"ack {assertion.Subject} {assertion.Id}");
    Console.Out.Flush();
}

return 0;
