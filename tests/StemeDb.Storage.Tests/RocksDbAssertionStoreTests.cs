using System.Text.Json;
using StemeDb.Cluster.Time;
using StemeDb.Contracts;

namespace StemeDb.Storage.Tests;

public sealed class RocksDbAssertionStoreTests : IDisposable
{
    private const int Shards = 64;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "stemedb-store-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private RocksDbAssertionStore Open(string name = "a", int shards = Shards) =>
        RocksDbAssertionStore.Open(new StorageOptions { DataDirectory = Path.Combine(_root, name) }, shards);

    private static Assertion A(string subject, string predicate, string json, long wall = 1) =>
        new(subject, predicate, JsonDocument.Parse(json).RootElement, null, null, new HlcTimestamp(wall, 0));

    [Fact]
    public void Data_survives_close_and_reopen()
    {
        Assertion[] written = [A("user:1", "name", "\"Ann\""), A("user:1", "age", "41"), A("user:2", "name", "\"Bo\"")];
        long size;
        using (RocksDbAssertionStore store = Open())
        {
            Assert.Equal(3, store.Write(written));
            size = store.Sizes().Of(0, Shards);
        }

        using (RocksDbAssertionStore store = Open())
        {
            Assert.Equal(["age", "name"], store.Read("user:1").Select(s => s.Assertion.Predicate).Order());
            Assert.Equal(written[0].Id, store.Read("user:1", "name").Single().Assertion.Id);
            Assert.Equal(size, store.Sizes().Of(0, Shards));
        }
    }

    [Fact]
    public void Sizes_track_writes_exactly_and_duplicates_add_nothing()
    {
        using RocksDbAssertionStore store = Open();
        Assertion a = A("user:1", "name", "\"Ann\"");
        int shard = store.ShardOf("user:1");
        Assert.Equal(0, store.ShardSize(shard));
        Assert.Equal(1, store.Write([a]));
        long one = store.ShardSize(shard);
        Assert.True(one > a.Canonical.Length);
        Assert.Equal(0, store.Write([a, a]));
        Assert.Equal(one, store.ShardSize(shard));
        Assert.Equal(1, store.Write([A("user:1", "name", "\"Annie\"")]));
        Assert.True(store.ShardSize(shard) > one);
        Assert.Equal(store.ShardSize(shard), store.Sizes().OfShard(shard));
    }

    [Fact]
    public async Task Concurrent_writers_share_groups_and_sizes_stay_exact_with_duplicates_across_them()
    {
        using RocksDbAssertionStore store = Open();
        // 16 writers, each writing the same 200 assertions (in its own order): every one is new exactly once.
        Assertion[] all = [.. Enumerable.Range(0, 200).Select(i => A($"c:{i}", "p", i.ToString(System.Globalization.CultureInfo.InvariantCulture), wall: i + 1))];
        int[] added = await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            int mine = 0;
            foreach (Assertion a in all.OrderBy(_ => random.Next()))
            {
                mine += await store.WriteAsync([a]);
            }

            return mine;
        })));

        Assert.Equal(200, added.Sum());
        for (int shard = 0; shard < store.ShardCount; shard++)
        {
            Assert.Equal(store.Export(shard, shard + 1).Sum(r => (long)r.Key.Length + r.Value.Length), store.ShardSize(shard));
        }

        (long groups, long records) = store.GroupStats;
        Assert.True(groups < 16 * 200, $"{groups} groups for {16 * 200} writes: no write shared a group");
        Assert.True(records >= 200);
    }

    [Fact]
    public void The_same_assertion_written_twice_keeps_its_earliest_time()
    {
        using RocksDbAssertionStore store = Open();
        store.Write([A("s", "p", "1", wall: 50)]);
        store.Write([A("s", "p", "1", wall: 10)]);
        store.Write([A("s", "p", "1", wall: 90)]);
        Assert.Equal(10, store.Read("s").Single().Assertion.AssertedAt.WallMilliseconds);
    }

    [Fact]
    public void Retracted_assertions_leave_current_reads_but_stay_in_history()
    {
        using RocksDbAssertionStore store = Open();
        Assertion old = A("user:1", "email", "\"a@x\"", wall: 1);
        Assertion current = A("user:1", "email", "\"b@x\"", wall: 2);
        store.Write([old, current]);
        Assert.True(store.Retract(new Retraction("user:1", old.Id, new HlcTimestamp(3, 0))));
        Assert.False(store.Retract(new Retraction("user:1", old.Id, new HlcTimestamp(4, 0))));

        Assert.Equal([current.Id], store.Read("user:1").Select(s => s.Assertion.Id));
        IReadOnlyList<StoredAssertion> history = store.Read("user:1", history: true);
        Assert.Equal([old.Id, current.Id], history.Select(s => s.Assertion.Id));
        Assert.Equal(3, history[0].RetractedAt!.Value.WallMilliseconds);
    }

    [Fact]
    public void A_tombstone_without_its_assertion_is_read_with_the_subject_records()
    {
        using RocksDbAssertionStore store = Open();
        Assertion elsewhere = A("s", "p", "1");
        var retraction = new Retraction("s", elsewhere.Id, new HlcTimestamp(5, 0));
        store.Retract(retraction);
        store.Write([A("s", "q", "2")]);

        SubjectRecords records = store.ReadRecords("s");
        Assert.Equal("q", Assert.Single(records.Assertions).Assertion.Predicate);
        Assert.Equal(retraction, Assert.Single(records.Retractions));
        Assert.Equal(retraction, Assert.Single(store.ReadRecords("s", predicate: "q").Retractions)); // tombstones name no predicate
        Assert.DoesNotContain(store.Read("s", history: true), a => a.Assertion.Id == elsewhere.Id);
    }

    [Fact]
    public void A_retraction_that_arrives_before_its_assertion_still_applies()
    {
        using RocksDbAssertionStore store = Open();
        Assertion a = A("s", "p", "true");
        store.Retract(new Retraction("s", a.Id, new HlcTimestamp(5, 0)));
        store.Write([a]);
        Assert.Empty(store.Read("s"));
    }

    [Fact]
    public void Export_and_import_round_trip_a_range_and_only_that_range()
    {
        using RocksDbAssertionStore source = Open("source");
        Assertion[] all = [.. Enumerable.Range(0, 200).Select(i => A($"subject-{i}", "n", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))];
        source.Write(all);
        source.Retract(new Retraction(all[7].Subject, all[7].Id, new HlcTimestamp(9, 0)));
        (int start, int end) = (8, 40);

        using RocksDbAssertionStore target = Open("target");
        int imported = target.Import(source.Export(start, end), start, end);
        Assert.True(imported > 0);
        Assert.Equal(0, target.Import(source.Export(start, end), start, end)); // idempotent
        for (int shard = 0; shard < Shards; shard++)
        {
            Assert.Equal(shard is >= 8 and < 40 ? source.ShardSize(shard) : 0, target.ShardSize(shard));
        }

        foreach (Assertion a in all)
        {
            int shard = source.ShardOf(a.Subject);
            var expected = source.Read(a.Subject, history: true).Select(s => (s.Assertion.Id, s.RetractedAt)).ToList();
            var actual = target.Read(a.Subject, history: true).Select(s => (s.Assertion.Id, s.RetractedAt)).ToList();
            Assert.Equal(shard is >= 8 and < 40 ? expected : [], actual);
        }
    }

    [Fact]
    public void An_import_with_a_tampered_or_foreign_record_is_refused_whole()
    {
        using RocksDbAssertionStore source = Open("source");
        source.Write([.. Enumerable.Range(0, 50).Select(i => A($"k{i}", "p", "1"))]);
        List<StoredRecord> records = [.. source.Export(0, Shards)];
        using RocksDbAssertionStore target = Open("target");

        StoredRecord tampered = records[3] with { Value = [.. records[3].Value[..^2], (byte)'9', records[3].Value[^1]] };
        List<StoredRecord> withTampered = [.. records.Take(3), tampered, .. records.Skip(4)];
        Assert.Throws<InvalidDataException>(() => target.Import(withTampered, 0, Shards));
        Assert.Equal(0, target.Sizes().Of(0, Shards));

        int shard = source.ShardOf(records[0].Key.Length > 0 ? "k0" : "k0");
        int other = (shard + 1) % Shards;
        Assert.Throws<InvalidDataException>(() => target.Import(source.Export(shard, shard + 1), other, other + 1));
    }

    [Fact]
    public void Deleting_a_range_drops_its_data_and_its_size()
    {
        using RocksDbAssertionStore store = Open();
        store.Write([.. Enumerable.Range(0, 100).Select(i => A($"k{i}", "p", "1"))]);
        long before = store.Sizes().Of(0, Shards);
        long kept = store.Sizes().Of(0, 32);
        store.DeleteRange(32, Shards);
        Assert.Equal(kept, store.Sizes().Of(0, Shards));
        Assert.True(kept < before);
        Assert.Empty(store.Export(32, Shards));
        Assert.All(Enumerable.Range(0, 100).Select(i => $"k{i}"), s => Assert.Equal(store.ShardOf(s) < 32 ? 1 : 0, store.Read(s).Count));
    }

    [Fact]
    public void A_foreign_data_directory_gives_a_clear_startup_error()
    {
        string dir = Path.Combine(_root, "foreign");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "postgresql.conf"), "# someone else's");
        var error = Assert.Throws<StorageException>(() => Open("foreign"));
        Assert.Contains("not a StemeDB data directory", error.Message);
        Assert.Contains(dir, error.Message);
    }

    [Fact]
    public void A_torn_data_directory_gives_a_clear_startup_error()
    {
        using (RocksDbAssertionStore store = Open())
        {
            store.Write([A("s", "p", "1")]);
        }

        string dir = Path.Combine(_root, "a");
        File.Delete(Path.Combine(dir, "CURRENT")); // as if the process died while the database was being made
        var error = Assert.Throws<StorageException>(() => Open());
        Assert.Contains("could not be opened", error.Message);
        Assert.Contains(dir, error.Message);
    }

    [Fact]
    public void A_directory_made_for_another_shard_count_is_refused()
    {
        Open().Dispose();
        var error = Assert.Throws<StorageException>(() => Open(shards: 128));
        Assert.Contains("shards=64", error.Message);
    }

    [Fact]
    public void Export_pages_cover_a_range_exactly_once_and_digests_tell_replicas_apart()
    {
        using RocksDbAssertionStore a = Open("a");
        using RocksDbAssertionStore b = Open("b");
        Assertion[] all = [.. Enumerable.Range(0, 300).Select(i => A($"k{i}", "p", "1"))];
        a.Write(all);
        b.Write(all[..299]);
        Assert.NotEqual(a.Digest(0, Shards), b.Digest(0, Shards));

        var paged = new List<StoredRecord>();
        byte[]? cursor = null;
        while (true)
        {
            IReadOnlyList<StoredRecord> page = a.ExportPage(10, 50, cursor, 7);
            if (page.Count == 0)
            {
                break;
            }

            paged.AddRange(page);
            cursor = page[^1].Key;
        }

        Assert.Equal(a.Export(10, 50).Select(r => Convert.ToHexString(r.Key)), paged.Select(r => Convert.ToHexString(r.Key)));
        b.Import(a.Export(0, Shards), 0, Shards);
        Assert.Equal(a.Digest(0, Shards), b.Digest(0, Shards));
    }
}
