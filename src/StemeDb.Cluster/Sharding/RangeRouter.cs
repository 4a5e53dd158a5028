using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Hashing;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Sharding;

/// <summary>
/// subject → shard → range → ordered live replicas. A cache over a <see cref="MetaRange"/> plus what this
/// process knows of dead nodes. Lookups are lock-free and allocation-free; a change of the table or of
/// liveness builds a new routing snapshot (rare next to lookups).
/// </summary>
public sealed class RangeRouter
{
    private readonly MetaRange _table;
    private readonly Lock _lock = new();
    private ImmutableHashSet<NodeId> _dead = [];
    private Routes _routes;

    public RangeRouter(MetaRange table)
    {
        ArgumentNullException.ThrowIfNull(table);
        _table = table;
        _routes = Build(table.Current, _dead);
    }

    public int ShardCount => _table.ShardCount;

    public MetaRange Table => _table;

    /// <summary>Nodes this router currently routes around.</summary>
    public ImmutableHashSet<NodeId> DeadNodes => Volatile.Read(ref _dead);

    /// <summary>Route for a subject; throws <see cref="InvalidSubjectException"/> for an invalid one.</summary>
    public RangeRoute Route(string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        if (subject.Length is 0 or > SubjectRules.MaxBytes)
        {
            SubjectRules.Validate(subject.AsSpan()); // throws with the message for this case
        }

        // An ASCII subject is valid once its length is: its UTF-8 is its chars. It is hashed from them.
        return SubjectHasher.TryHashAscii(subject, out ulong hash)
            ? RouteShard(JumpHash.Hash(hash, ShardCount))
            : RouteEncoded(subject);
    }

    // Apart from Route: its stack buffer would make Route keep the subject's span in memory (see Blake3Chunk).
    [MethodImpl(MethodImplOptions.NoInlining)]
    private RangeRoute RouteEncoded(string subject)
    {
        // Encode once: the strict encoder rejects lone surrogates, the length check covers the rest.
        Span<byte> utf8 = stackalloc byte[SubjectRules.MaxBytes * 3];
        int length = SubjectRules.EncodeUtf8(subject, utf8);
        if (length > SubjectRules.MaxBytes)
        {
            SubjectRules.Validate(utf8[..length]);
        }

        return RouteValidated(utf8[..length]);
    }

    /// <summary>Route for a subject given as UTF-8 bytes; validates it first.</summary>
    public RangeRoute Route(ReadOnlySpan<byte> utf8Subject)
    {
        SubjectRules.Validate(utf8Subject);
        return RouteShard(JumpHash.Hash(SubjectHasher.Hash(utf8Subject), ShardCount));
    }

    /// <summary>Route for a subject already validated (hot path: no validation pass).</summary>
    public RangeRoute RouteValidated(ReadOnlySpan<byte> utf8Subject) =>
        RouteShard(JumpHash.Hash(SubjectHasher.Hash(utf8Subject), ShardCount));

    public RangeRoute RouteShard(int shard)
    {
        RouteSlot[] byShard = CurrentRoutes().ByShard;
        if ((uint)shard >= (uint)byShard.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(shard), shard, $"Shards are 0..{byShard.Length - 1}.");
        }

        return new RangeRoute(shard, byShard[shard]);
    }

    /// <summary>The leader for a subject; throws <see cref="NoLiveReplicaException"/> when all replicas are dead.</summary>
    public NodeId Leader(string subject) => Route(subject).Leader;

    /// <summary>Routes around <paramref name="node"/> from now on (a dead/left event, or a failed connection).</summary>
    public bool MarkDead(NodeId node) => UpdateDead(node, dead: true);

    /// <summary>Routes to <paramref name="node"/> again (it joined or refuted its death).</summary>
    public bool MarkAlive(NodeId node) => UpdateDead(node, dead: false);

    /// <summary>Merges descriptors into the table (a meta-range update, or the body of a "range moved" answer).</summary>
    public bool Apply(IEnumerable<RangeDescriptor> descriptors) => _table.Apply(descriptors);

    public bool Apply(MetaRangeUpdate update) => _table.Apply(update);

    private bool UpdateDead(NodeId node, bool dead)
    {
        lock (_lock)
        {
            ImmutableHashSet<NodeId> next = dead ? _dead.Add(node) : _dead.Remove(node);
            if (ReferenceEquals(next, _dead))
            {
                return false;
            }

            Volatile.Write(ref _dead, next);
            Volatile.Write(ref _routes, Build(_table.Current, next));
            return true;
        }
    }

    private Routes CurrentRoutes()
    {
        Routes routes = Volatile.Read(ref _routes);
        MetaRangeSnapshot current = _table.Current;
        if (ReferenceEquals(routes.Snapshot, current))
        {
            return routes;
        }

        // The table moved on since the last build: rebuild once, under the lock.
        lock (_lock)
        {
            current = _table.Current;
            if (!ReferenceEquals(_routes.Snapshot, current))
            {
                Volatile.Write(ref _routes, Build(current, _dead));
            }

            return _routes;
        }
    }

    private static Routes Build(MetaRangeSnapshot snapshot, ImmutableHashSet<NodeId> dead)
    {
        // One slot per entry, referenced from every shard of it: a lookup is two loads.
        var byShard = new RouteSlot[snapshot.ShardCount];
        var liveOf = new Dictionary<RangeDescriptor, NodeId[]>(ReferenceEqualityComparer.Instance);
        foreach (MetaRangeEntry entry in snapshot.Entries)
        {
            RangeDescriptor d = entry.Descriptor;
            if (!liveOf.TryGetValue(d, out NodeId[]? live))
            {
                live = dead.IsEmpty ? [.. d.Replicas] : [.. d.Replicas.Where(n => !dead.Contains(n))];
                liveOf[d] = live;
            }

            Array.Fill(byShard, new RouteSlot(entry, live, live.Length > 0 ? live[0] : null), entry.StartShard, entry.ShardCount);
        }

        return new Routes(snapshot, byShard);
    }

    private sealed record Routes(MetaRangeSnapshot Snapshot, RouteSlot[] ByShard);
}
