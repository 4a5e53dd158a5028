using System.Buffers.Binary;
using System.Globalization;
using RocksDbSharp;
using StemeDb.Cluster.Hashing;
using StemeDb.Cluster.Sharding;
using StemeDb.Cluster.Time;

using StemeDb.Contracts;

namespace StemeDb.Storage;

/// <summary>
/// The assertions of the ranges a node replicates, in RocksDB with its write-ahead log on (see
/// <see cref="StorageKeys"/> for the layout and <see cref="StorageOptions.SyncWrites"/> for durability).
/// Writes are idempotent (content ids) and merge by union, keeping the earliest time of a duplicate, so
/// replicas converge whatever order writes, retries and imports arrive in. Bytes per shard are kept
/// exactly, in the same atomic batch as the data they count. Thread-safe; writes go through one writer that commits whatever waits as one group (<see cref="GroupCommit"/>).
/// </summary>
public sealed class RocksDbAssertionStore : IDisposable
{
    public const string MarkerFileName = "STEMEDB";
    private const int FormatVersion = 1;

    private readonly RocksDb _db;
    private readonly WriteOptions _writeOptions;
    private readonly WriteOptions _metaWriteOptions = new WriteOptions().SetSync(true);
    private readonly GroupCommit _writer;
    private long _groups;
    private long _groupedRecords;
    private readonly long[] _sizes;

    private RocksDbAssertionStore(RocksDb db, WriteOptions writeOptions, int shardCount, string directory)
    {
        _db = db;
        _writeOptions = writeOptions;
        _sizes = new long[shardCount];
        Directory = directory;
        _writer = new GroupCommit(Commit, $"stemedb-store-writer {directory}");
        using Iterator it = _db.NewIterator();
        for (it.Seek(StorageKeys.Size(0)); it.Valid(); it.Next())
        {
            if (!StorageKeys.IsSize(it.Key(), out int shard) || shard >= shardCount)
            {
                break;
            }

            _sizes[shard] = BinaryPrimitives.ReadInt64LittleEndian(it.Value());
        }
    }

    public int ShardCount => _sizes.Length;

    public string Directory { get; }

    /// <summary>
    /// Opens (or creates) the store. Refuses, with a message that says why and what to do, a directory that
    /// holds something else, one made for another shard count, or one whose database is missing or torn.
    /// </summary>
    /// <param name="cluster">The cluster this store belongs to: a store made for another is refused (none: not checked).</param>
    public static RocksDbAssertionStore Open(StorageOptions options, int shardCount, Cluster.Membership.ClusterId cluster = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (shardCount is < 1 or > MetaRange.MaxShardCount)
        {
            throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, $"The shard count must be 1..{MetaRange.MaxShardCount}.");
        }

        string directory = Path.GetFullPath(options.DataDirectory);
        string marker = Path.Combine(directory, MarkerFileName);
        bool existing = File.Exists(marker);
        if (existing)
        {
            CheckMarker(marker, shardCount, cluster);
        }
        else if (System.IO.Directory.Exists(directory) && System.IO.Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new StorageException(
                $"The data directory {directory} is not empty and is not a StemeDB data directory (it has no {MarkerFileName} file). " +
                "Refusing to write into it: point Storage:DataDirectory at an empty or missing directory.");
        }

        System.IO.Directory.CreateDirectory(directory);
        DbOptions dbOptions = new DbOptions()
            .SetCreateIfMissing(!existing) // an existing store whose database vanished must not silently restart empty
            .SetParanoidChecks(true);
        RocksDb db;
        try
        {
            db = RocksDb.Open(dbOptions, directory);
        }
        catch (RocksDbException e)
        {
            throw new StorageException(
                $"The data directory {directory} could not be opened by RocksDB: {e.Message} " +
                "It may be torn (a crash while it was created) or damaged. Restore it, or move it away and let this node " +
                "be filled again from its range's other replicas.",
                e);
        }

        if (!existing || (cluster != default && !File.ReadAllText(marker).Contains(" cluster=", StringComparison.Ordinal)))
        {
            // A store made before it recorded its cluster takes on the first cluster that opens it.
            File.WriteAllText(marker, MarkerText(shardCount, cluster) + "\n");
        }

        return new RocksDbAssertionStore(db, new WriteOptions().SetSync(options.SyncWrites), shardCount, directory);
    }

    public int ShardOf(string subject) => JumpHash.Hash(SubjectHasher.Hash(subject), ShardCount);

    /// <summary>Stores the assertions not already stored; returns how many were new. Durable when it returns.</summary>
    public int Write(IReadOnlyList<Assertion> assertions) => WriteAsync(assertions).GetAwaiter().GetResult();

    /// <summary>
    /// Stores the assertions not already stored, in the writer's next group (one write, one sync for
    /// everything waiting); completes with how many were new once they are durable.
    /// </summary>
    public Task<int> WriteAsync(IReadOnlyList<Assertion> assertions)
    {
        ArgumentNullException.ThrowIfNull(assertions);
        return _writer.EnqueueAsync(group =>
        {
            int added = 0;
            foreach (Assertion a in assertions)
            {
                int shard = ShardOf(a.Subject);
                if (Merge(group, StorageKeys.Record(shard, a.Subject, StorageKeys.AssertionKind, a.Id), AssertionValue(a), shard))
                {
                    added++;
                }
            }

            return added;
        }, assertions.Count);
    }

    /// <summary>Stores a retraction; true when it was new. Durable when it returns.</summary>
    public bool Retract(Retraction retraction) => RetractAsync(retraction).GetAwaiter().GetResult();

    /// <summary>Stores a retraction in the writer's next group; true when it was new, once durable.</summary>
    public Task<bool> RetractAsync(Retraction retraction)
    {
        ArgumentNullException.ThrowIfNull(retraction);
        int shard = ShardOf(retraction.Subject);
        byte[] key = StorageKeys.Record(shard, retraction.Subject, StorageKeys.RetractionKind, retraction.Id);
        byte[] value = new byte[8 + AssertionId.Bytes];
        BinaryPrimitives.WriteUInt64BigEndian(value, retraction.RetractedAt.Packed);
        retraction.Target.Span.CopyTo(value.AsSpan(8));
        return _writer.EnqueueAsync(group => Merge(group, key, value, shard), 1);
    }

    /// <summary>
    /// The assertions of a subject, optionally of one predicate: current ones (not retracted) by default,
    /// all of them with their retraction times when <paramref name="history"/>; oldest first.
    /// </summary>
    public IReadOnlyList<StoredAssertion> Read(string subject, string? predicate = null, bool history = false) =>
        [.. ReadRecords(subject, predicate).Assertions.Where(s => history || s.IsCurrent)];

    /// <summary>
    /// Every assertion of a subject (optionally of one predicate), oldest first, with its retraction time,
    /// and every tombstone of the subject, also those naming assertions this store does not hold.
    /// </summary>
    public SubjectRecords ReadRecords(string subject, string? predicate = null)
    {
        ArgumentNullException.ThrowIfNull(subject);
        byte[] prefix = StorageKeys.SubjectPrefix(ShardOf(subject), subject);
        var assertions = new List<Assertion>();
        var retracted = new Dictionary<AssertionId, HlcTimestamp>();
        using Iterator it = _db.NewIterator();
        for (it.Seek(prefix); it.Valid() && it.Key().AsSpan().StartsWith(prefix); it.Next())
        {
            if (!StorageKeys.TryParse(it.Key(), out _, out string keySubject, out byte kind, out _) || keySubject != subject)
            {
                continue;
            }

            byte[] value = it.Value();
            var at = HlcTimestamp.FromPacked(BinaryPrimitives.ReadUInt64BigEndian(value));
            if (kind == StorageKeys.AssertionKind)
            {
                if (CanonicalForm.TryDecode(value.AsSpan(8), at, out Assertion? a) && (predicate is null || a!.Predicate == predicate))
                {
                    assertions.Add(a!);
                }
            }
            else
            {
                var target = new AssertionId(value.AsSpan(8, AssertionId.Bytes));
                retracted[target] = retracted.TryGetValue(target, out HlcTimestamp t) && t < at ? t : at;
            }
        }

        return new SubjectRecords(
            [.. assertions
                .Select(a => new StoredAssertion(a, retracted.TryGetValue(a.Id, out HlcTimestamp t) ? t : null))
                .OrderBy(s => s.Assertion.AssertedAt)
                .ThenBy(s => s.Assertion.Id.ToString(), StringComparer.Ordinal)],
            [.. retracted.Select(r => new Retraction(subject, r.Key, r.Value))]);
    }

    /// <summary>Bytes (keys and values) stored in <paramref name="shard"/>.</summary>
    public long ShardSize(int shard) => Interlocked.Read(ref _sizes[shard]);

    /// <summary>Every shard's size, as the range manager takes them.</summary>
    public ShardSizes Sizes()
    {
        long[] copy = new long[_sizes.Length];
        for (int i = 0; i < copy.Length; i++)
        {
            copy[i] = Interlocked.Read(ref _sizes[i]);
        }

        return new ShardSizes(copy);
    }

    /// <summary>Every record of shards <c>[start, end)</c>, from a consistent snapshot, in key order.</summary>
    public IEnumerable<StoredRecord> Export(int startShard, int endShard)
    {
        CheckSpan(startShard, endShard);
        using Snapshot snapshot = _db.CreateSnapshot();
        ReadOptions readOptions = new ReadOptions().SetSnapshot(snapshot);
        byte[] end = StorageKeys.ShardStart(endShard);
        using Iterator it = _db.NewIterator(readOptions: readOptions);
        for (it.Seek(StorageKeys.ShardStart(startShard)); it.Valid() && it.Key().AsSpan().SequenceCompareTo(end) < 0; it.Next())
        {
            yield return new StoredRecord(it.Key(), it.Value());
        }
    }

    /// <summary>
    /// One page of <see cref="Export"/>: up to <paramref name="limit"/> records of shards <c>[start, end)</c>
    /// after the key <paramref name="after"/> (null for the first page); the last key is the next cursor.
    /// </summary>
    public IReadOnlyList<StoredRecord> ExportPage(int startShard, int endShard, byte[]? after, int limit)
    {
        CheckSpan(startShard, endShard);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        byte[] end = StorageKeys.ShardStart(endShard);
        var page = new List<StoredRecord>(Math.Min(limit, 1024));
        using Iterator it = _db.NewIterator();
        it.Seek(after ?? StorageKeys.ShardStart(startShard));
        if (after is not null && it.Valid() && it.Key().AsSpan().SequenceEqual(after))
        {
            it.Next();
        }

        for (; it.Valid() && page.Count < limit && it.Key().AsSpan().SequenceCompareTo(end) < 0; it.Next())
        {
            if (it.Key().AsSpan().SequenceCompareTo(StorageKeys.ShardStart(startShard)) >= 0)
            {
                page.Add(new StoredRecord(it.Key(), it.Value()));
            }
        }

        return page;
    }

    /// <summary>
    /// A digest of shards <c>[start, end)</c>: BLAKE3 over every key and value in order. Two replicas with
    /// the same records have the same digest; anti-entropy compares digests before it moves any data.
    /// </summary>
    public string Digest(int startShard, int endShard)
    {
        using var hasher = Blake3.Hasher.New();
        Span<byte> length = stackalloc byte[4];
        foreach (StoredRecord record in Export(startShard, endShard))
        {
            BinaryPrimitives.WriteInt32LittleEndian(length, record.Key.Length);
            hasher.Update(length);
            hasher.Update(record.Key);
            BinaryPrimitives.WriteInt32LittleEndian(length, record.Value.Length);
            hasher.Update(length);
            hasher.Update(record.Value);
        }

        return hasher.Finalize().ToString();
    }

    /// <summary>
    /// Merges records exported by another replica for shards <c>[start, end)</c>; returns how many were new.
    /// Every record is checked first (key in the span, id that matches the content); one bad record refuses
    /// the whole import, and nothing is written.
    /// </summary>
    public int Import(IEnumerable<StoredRecord> records, int startShard, int endShard) => ImportAsync(records, startShard, endShard).GetAwaiter().GetResult();

    /// <inheritdoc cref="Import"/>
    public Task<int> ImportAsync(IEnumerable<StoredRecord> records, int startShard, int endShard)
    {
        ArgumentNullException.ThrowIfNull(records);
        CheckSpan(startShard, endShard);
        var checkedRecords = new List<(StoredRecord Record, int Shard)>();
        foreach (StoredRecord record in records)
        {
            checkedRecords.Add((record, CheckRecord(record, startShard, endShard)));
        }

        return _writer.EnqueueAsync(group =>
        {
            int added = 0;
            foreach ((StoredRecord record, int shard) in checkedRecords)
            {
                if (Merge(group, record.Key, record.Value, shard))
                {
                    added++;
                }
            }

            return added;
        }, checkedRecords.Count);
    }

    /// <summary>Drops every record of shards <c>[start, end)</c> (after the range moved to other replicas).</summary>
    public void DeleteRange(int startShard, int endShard) => DeleteRangeIf(startShard, endShard, () => true);

    /// <summary>
    /// Drops every record of shards <c>[start, end)</c> if <paramref name="stillForeign"/> holds when checked
    /// on the writer, in a group of its own: every write and import is ordered before or after the check, so
    /// data imported into the span after the caller decided to drop it is never dropped with it. True when dropped.
    /// </summary>
    public bool DeleteRangeIf(int startShard, int endShard, Func<bool> stillForeign)
    {
        CheckSpan(startShard, endShard);
        ArgumentNullException.ThrowIfNull(stillForeign);
        return _writer.EnqueueAsync(group =>
        {
            if (!stillForeign())
            {
                return false;
            }

            byte[] from = StorageKeys.ShardStart(startShard);
            byte[] to = StorageKeys.ShardStart(endShard);
            group.Batch.DeleteRange(from, (ulong)from.Length, to, (ulong)to.Length);
            for (int shard = startShard; shard < endShard; shard++)
            {
                if (_sizes[shard] != 0)
                {
                    group.Batch.Delete(StorageKeys.Size(shard));
                }
            }

            group.AfterCommit.Add(() =>
            {
                for (int shard = startShard; shard < endShard; shard++)
                {
                    Interlocked.Exchange(ref _sizes[shard], 0);
                }
            });
            return true;
        }, endShard - startShard, alone: true).GetAwaiter().GetResult();
    }

    /// <summary>A durable record of the node's own (<see cref="MetaKind"/>), written synced whatever <see cref="StorageOptions.SyncWrites"/> says.</summary>
    public void PutMeta(MetaKind kind, ReadOnlySpan<byte> key, byte[] value)
    {
        ArgumentNullException.ThrowIfNull(value);
        using var batch = new WriteBatch();
        byte[] full = StorageKeys.Meta(kind, key);
        batch.Put(full, value);
        WriteBatch(batch, _metaWriteOptions);
    }

    public void DeleteMeta(MetaKind kind, ReadOnlySpan<byte> key)
    {
        using var batch = new WriteBatch();
        batch.Delete(StorageKeys.Meta(kind, key));
        WriteBatch(batch, _metaWriteOptions);
    }

    public byte[]? GetMeta(MetaKind kind, ReadOnlySpan<byte> key) => _db.Get(StorageKeys.Meta(kind, key));

    /// <summary>Every record of one kind, keys without the prefix.</summary>
    public IReadOnlyList<(byte[] Key, byte[] Value)> ScanMeta(MetaKind kind)
    {
        byte[] prefix = StorageKeys.Meta(kind, []);
        var records = new List<(byte[], byte[])>();
        using Iterator it = _db.NewIterator();
        for (it.Seek(prefix); it.Valid() && it.Key().AsSpan().StartsWith(prefix); it.Next())
        {
            records.Add((it.Key()[prefix.Length..], it.Value()));
        }

        return records;
    }

    /// <summary>
    /// The digest of every non-empty shard of <c>[start, end)</c>, in shard order: two replicas compare them to
    /// move only the shards where they differ.
    /// </summary>
    public IReadOnlyList<(int Shard, string Digest)> ShardDigests(int startShard, int endShard)
    {
        CheckSpan(startShard, endShard);
        var digests = new List<(int, string)>();
        Blake3.Hasher hasher = Blake3.Hasher.New();
        int current = -1;
        Span<byte> length = stackalloc byte[4];
        try
        {
            foreach (StoredRecord record in Export(startShard, endShard))
            {
                int shard = (int)BinaryPrimitives.ReadUInt32BigEndian(record.Key);
                if (shard != current)
                {
                    if (current >= 0)
                    {
                        digests.Add((current, hasher.Finalize().ToString()));
                        hasher.Reset();
                    }

                    current = shard;
                }

                BinaryPrimitives.WriteInt32LittleEndian(length, record.Key.Length);
                hasher.Update(length);
                hasher.Update(record.Key);
                BinaryPrimitives.WriteInt32LittleEndian(length, record.Value.Length);
                hasher.Update(length);
                hasher.Update(record.Value);
            }

            if (current >= 0)
            {
                digests.Add((current, hasher.Finalize().ToString()));
            }
        }
        finally
        {
            hasher.Dispose();
        }

        return digests;
    }

    /// <summary>Write groups committed, and the records they held: records ÷ groups is the mean group size (writes per sync).</summary>
    public (long Groups, long Records) GroupStats => (Interlocked.Read(ref _groups), Interlocked.Read(ref _groupedRecords));

    public void Dispose()
    {
        _writer.Dispose(); // what is queued is still written
        _db.Dispose();
    }

    private static byte[] AssertionValue(Assertion a)
    {
        byte[] value = new byte[8 + a.Canonical.Length];
        BinaryPrimitives.WriteUInt64BigEndian(value, a.AssertedAt.Packed);
        a.Canonical.CopyTo(value, 8);
        return value;
    }

    /// <summary>
    /// Puts a record unless it is stored (or pending in this group) already; an existing copy with a later
    /// time is replaced by the earlier one. Returns whether the record is new. On the writer only.
    /// </summary>
    private bool Merge(GroupCommit.Group group, byte[] key, byte[] value, int shard)
    {
        string pendingKey = Convert.ToBase64String(key);
        var time = HlcTimestamp.FromPacked(BinaryPrimitives.ReadUInt64BigEndian(value));
        HlcTimestamp? known = group.Pending.TryGetValue(pendingKey, out HlcTimestamp p) ? p : null;
        if (known is null && _db.Get(key) is { } stored)
        {
            known = HlcTimestamp.FromPacked(BinaryPrimitives.ReadUInt64BigEndian(stored));
        }

        if (known is { } existing)
        {
            if (time < existing)
            {
                group.Batch.Put(key, value); // same content, same size: only the time moves earlier
                group.Pending[pendingKey] = time;
            }

            return false;
        }

        group.Batch.Put(key, value);
        group.Pending[pendingKey] = time;
        group.Grown[shard] = group.Grown.GetValueOrDefault(shard) + key.Length + value.Length;
        return true;
    }

    /// <summary>
    /// Raised on the writer after each group is durable: how many batch entries it wrote with one write
    /// (and, with sync writes on, one fsync), and how long that took. For metrics; keep handlers cheap.
    /// </summary>
    public event Action<CommitStats>? Committed;

    /// <summary>One group: its size keys into the batch, one write (one sync), then the sizes in memory. On the writer only.</summary>
    private void Commit(GroupCommit.Group group)
    {
        foreach ((int shard, long bytes) in group.Grown)
        {
            byte[] size = new byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(size, _sizes[shard] + bytes);
            group.Batch.Put(StorageKeys.Size(shard), size);
        }

        int entries = group.Batch.Count();
        TimeSpan took = TimeSpan.Zero;
        if (entries > 0)
        {
            long started = System.Diagnostics.Stopwatch.GetTimestamp();
            WriteBatch(group.Batch, _writeOptions);
            took = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        }

        foreach ((int shard, long bytes) in group.Grown)
        {
            Interlocked.Add(ref _sizes[shard], bytes);
        }

        foreach (Action after in group.AfterCommit)
        {
            after();
        }

        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _groupedRecords, group.Pending.Count);

        // Last, once the sizes and counters in memory match what was written: an observer cannot leave them behind.
        if (entries > 0)
        {
            Committed?.Invoke(new CommitStats(entries, took));
        }
    }

    // Every write goes through here: a RocksDB failure (disk full, I/O error) becomes a StorageException,
    // which the node turns into "not ready" rather than an answer built on a write that did not happen.
    private void WriteBatch(WriteBatch batch, WriteOptions options)
    {
        try
        {
            _db.Write(batch, options);
        }
        catch (RocksDbException e)
        {
            throw new StorageException($"RocksDB refused a write in {Directory}: {e.Message}", e);
        }
    }

    private int CheckRecord(StoredRecord record, int startShard, int endShard)
    {
        if (!StorageKeys.TryParse(record.Key, out int shard, out string subject, out byte kind, out AssertionId id))
        {
            throw new InvalidDataException("An imported record has a key that is not a StemeDB data key.");
        }

        if (shard < startShard || shard >= endShard || shard != ShardOf(subject))
        {
            throw new InvalidDataException($"An imported record of shard {shard} (subject '{subject}') does not belong to [{startShard}, {endShard}).");
        }

        if (record.Value.Length < 8)
        {
            throw new InvalidDataException($"An imported record of '{subject}' has a truncated value.");
        }

        var at = HlcTimestamp.FromPacked(BinaryPrimitives.ReadUInt64BigEndian(record.Value));
        bool valid = kind == StorageKeys.AssertionKind
            ? CanonicalForm.TryDecode(record.Value.AsSpan(8), at, out Assertion? a) && a!.Id == id && a.Subject == subject
            : record.Value.Length == 8 + AssertionId.Bytes
              && new Retraction(subject, new AssertionId(record.Value.AsSpan(8)), at).Id == id;
        if (!valid)
        {
            throw new InvalidDataException($"An imported record of '{subject}' does not match its id {id}.");
        }

        return shard;
    }

    private void CheckSpan(int startShard, int endShard)
    {
        if (startShard < 0 || endShard > ShardCount || endShard <= startShard)
        {
            throw new ArgumentOutOfRangeException(nameof(startShard), $"[{startShard}, {endShard}) is not a span of 0..{ShardCount}.");
        }
    }

    private static string MarkerText(int shardCount, Cluster.Membership.ClusterId cluster) =>
        string.Create(CultureInfo.InvariantCulture, $"stemedb-storage format={FormatVersion} shards={shardCount}") + (cluster == default ? "" : $" cluster={cluster}");

    private static void CheckMarker(string marker, int shardCount, Cluster.Membership.ClusterId cluster)
    {
        string text = File.ReadAllText(marker).Trim();
        string[] fields = text.Split(' ');
        string expected = string.Create(CultureInfo.InvariantCulture, $"stemedb-storage format={FormatVersion} shards={shardCount}");
        if (!text.StartsWith(expected, StringComparison.Ordinal) || (fields.Length != 3 && fields.Length != 4))
        {
            throw new StorageException(
                $"The data directory marker {marker} says '{text}', but this node runs '{expected}'. " +
                "A store keeps its shard count for life (keys hold the shard): use the directory with the cluster it was made for.");
        }

        string? theirs = fields.Length == 4 && fields[3].StartsWith("cluster=", StringComparison.Ordinal) ? fields[3]["cluster=".Length..] : null;
        if (cluster != default && theirs is not null && theirs != cluster.ToString())
        {
            throw new StorageException(
                $"The data directory {Path.GetDirectoryName(marker)} belongs to cluster {theirs}; this node is of cluster {cluster} " +
                "(another genesis, shard count or cluster name). Use that cluster's settings, or an empty data directory to join this one.");
        }
    }
}
