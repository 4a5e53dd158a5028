using System.Collections.Immutable;
using System.Net;

namespace StemeDb.Cluster.Membership;

/// <summary>The messages of the SWIM protocol. A datagram holds one or more (a primary message plus piggybacked gossip).</summary>
public abstract record SwimMessage;

/// <summary>Direct probe: "are you <paramref name="Target"/>? answer with an ack carrying <paramref name="Sequence"/>".</summary>
public sealed record Ping(uint Sequence, NodeId Target, NodeId Source) : SwimMessage;

/// <summary>Probe <paramref name="Target"/> for <paramref name="Source"/> and forward its ack; with <paramref name="WantNack"/>, say so if it does not answer in time (Lifeguard).</summary>
public sealed record IndirectPing(uint Sequence, NodeId Target, IPEndPoint TargetAddress, NodeId Source, bool WantNack) : SwimMessage;

public sealed record Ack(uint Sequence) : SwimMessage;

/// <summary>Lifeguard: the relay got no answer from the target; tells the prober its own link works.</summary>
public sealed record Nack(uint Sequence) : SwimMessage;

/// <summary>A member is alive at this incarnation, with its addresses and metadata (also how joins spread).</summary>
public sealed record AliveMessage(
    NodeId Node,
    uint Incarnation,
    IPEndPoint Address,
    string AppId,
    string HttpAddress,
    ImmutableSortedDictionary<string, string> Metadata) : SwimMessage;

public sealed record SuspectMessage(NodeId Node, uint Incarnation, NodeId From) : SwimMessage;

/// <summary>Declares a member dead; sent by the member about itself it means it left.</summary>
public sealed record DeadMessage(NodeId Node, uint Incarnation, NodeId From) : SwimMessage;

/// <summary>
/// One datagram of a full state exchange. A request (<paramref name="IsReply"/> false) is answered with
/// the receiver's own state; <paramref name="Join"/> marks a joining member's first exchange.
/// </summary>
public sealed record PushPullMessage(NodeId From, bool Join, bool IsReply, ImmutableArray<NodeInfo> Members) : SwimMessage;
