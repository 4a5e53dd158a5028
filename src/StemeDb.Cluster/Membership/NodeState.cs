namespace StemeDb.Cluster.Membership;

/// <summary>A member's state in SWIM. Dead and Left are terminal until the member comes back with a higher incarnation.</summary>
public enum NodeState : byte
{
    Alive = 0,
    Suspect = 1,
    Dead = 2,

    /// <summary>Left gracefully: it said so itself, so it is not a failure.</summary>
    Left = 3,
}
