using Microsoft.Extensions.Configuration;
using StemeDb.Cluster.Configuration;
using StemeDb.Storage;

namespace StemeDb.Node.Tests;

/// <summary>A node that cannot run says why before it serves anything.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "stemedb-startup-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void A_foreign_data_directory_stops_the_start()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "notes.txt"), "not ours");
        var error = Assert.Throws<StorageException>(() => NodeApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:DataDirectory"] = _dir })));
        Assert.Contains("not a StemeDB data directory", error.Message);
    }

    [Fact]
    public void Bad_settings_are_all_named_before_anything_starts()
    {
        var error = Assert.Throws<ClusterConfigException>(() => NodeApp.Build([], c => c.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = _dir,
            ["Node:Transport"] = "Carrier-Pigeon",
            ["Node:HttpAddress"] = "not a url",
        })));
        Assert.Contains(error.Errors, e => e.Contains("Node:Transport", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("Node:HttpAddress", StringComparison.Ordinal));
        Assert.False(Directory.Exists(_dir)); // nothing was created
    }
}
