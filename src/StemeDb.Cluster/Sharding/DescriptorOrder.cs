namespace StemeDb.Cluster.Sharding;

/// <summary>
/// The last-writer-wins order of descriptors (README, "Guarantees"): generation, then HLC timestamp, then proposer.
/// The remaining fields only break ties between descriptors that differ but share those three (a buggy
/// or malicious proposer), so that the order is total and every node picks the same winner.
/// </summary>
public static class DescriptorOrder
{
    public static int Compare(RangeDescriptor a, RangeDescriptor b)
    {
        if (ReferenceEquals(a, b))
        {
            return 0;
        }

        int c = a.Generation.CompareTo(b.Generation);
        if (c != 0)
        {
            return c;
        }

        c = a.Timestamp.CompareTo(b.Timestamp);
        if (c != 0)
        {
            return c;
        }

        c = a.Proposer.CompareTo(b.Proposer);
        if (c != 0)
        {
            return c;
        }

        c = a.Id.CompareTo(b.Id);
        if (c != 0)
        {
            return c;
        }

        c = a.StartShard.CompareTo(b.StartShard);
        if (c != 0)
        {
            return c;
        }

        c = a.EndShard.CompareTo(b.EndShard);
        if (c != 0)
        {
            return c;
        }

        c = a.Replicas.Length.CompareTo(b.Replicas.Length);
        for (int i = 0; c == 0 && i < a.Replicas.Length; i++)
        {
            c = a.Replicas[i].CompareTo(b.Replicas[i]);
        }

        return c;
    }
}
