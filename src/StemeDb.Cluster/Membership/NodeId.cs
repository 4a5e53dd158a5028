namespace StemeDb.Cluster.Membership;

/// <summary>
/// A node's stable identity, also its Dapr app-id by default (e.g. <c>stemedb-node-1</c>): 1..63 chars of
/// lower-case letters, digits and '-', so it is valid as a Dapr app-id and a Kubernetes name.
/// </summary>
public readonly record struct NodeId : IComparable<NodeId>
{
    public const int MaxLength = 63;

    public NodeId(string value)
    {
        if (!IsValid(value, out string? reason))
        {
            throw new ArgumentException(reason, nameof(value));
        }

        Value = value;
    }

    public string Value { get; }

    public static bool IsValid(string? value, out string? reason)
    {
        if (string.IsNullOrEmpty(value))
        {
            reason = "A node id must not be empty.";
            return false;
        }

        if (value.Length > MaxLength)
        {
            reason = $"The node id '{value}' is {value.Length} characters; at most {MaxLength} are allowed.";
            return false;
        }

        foreach (char c in value)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                reason = $"The node id '{value}' may only hold lower-case letters, digits and '-'.";
                return false;
            }
        }

        reason = null;
        return true;
    }

    public int CompareTo(NodeId other) => string.CompareOrdinal(Value, other.Value);

    public override string ToString() => Value ?? string.Empty;
}
