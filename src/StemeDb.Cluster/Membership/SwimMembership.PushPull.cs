using System.Collections.Immutable;
using System.Net;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// Push-pull state sync: every push-pull interval, a full state exchange with one random member repairs
/// whatever gossip lost; joins are the same exchange with a seed. The state travels as datagrams of at
/// most the packet limit, each a self-contained slice, and the interval grows with the cluster as in
/// memberlist, so that its cost per member stays flat. Dead members are retried now and then (Serf's
/// reconnect), which is how the two sides of a healed partition find each other again.
/// </summary>
public sealed partial class SwimMembership
{
    private const int PushPullScaleThreshold = 32;

    private void PushPullTick()
    {
        List<Member> peer = RandomMembers(1, m => m.Info.State == NodeState.Alive);
        if (peer.Count == 1 && !_leaving)
        {
            SendState(peer[0].Info.SwimAddress, join: false, isReply: false);
        }

        // Reconnect (Serf's reconnect loop): a dead member may only have been cut off. Try one, with a
        // probability that keeps the cluster-wide rate near one attempt per interval; after a partition
        // heals, the exchange makes both sides refute and learn of each other again.
        List<Member> dead = RandomMembers(1, m => m.Info.State == NodeState.Dead);
        if (dead.Count == 1 && !_leaving)
        {
            int deadCount = _members.Values.Count(m => m.Info.State == NodeState.Dead);
            if (_random.NextDouble() < (double)deadCount / Math.Max(1, ActiveCount()))
            {
                SendState(dead[0].Info.SwimAddress, join: false, isReply: false);
            }
        }

        _pushPullTimer!.Change(PushPullInterval(), Timeout.InfiniteTimeSpan);
    }

    private TimeSpan PushPullInterval()
    {
        int n = Math.Max(1, _members.Count);
        if (n <= PushPullScaleThreshold)
        {
            return _config.PushPullInterval;
        }

        double multiplier = Math.Ceiling(Math.Log2(n) - Math.Log2(PushPullScaleThreshold)) + 1;
        return _config.PushPullInterval * multiplier;
    }

    /// <summary>Sends every member this node knows, itself included, in as many datagrams as it takes.</summary>
    private void SendState(IPEndPoint to, bool join, bool isReply)
    {
        // Fixed part of a push-pull message: type, length, sender id, flags, count.
        int overhead = SwimCodec.HeaderBytes(_keyring) + 1 + 3 + 1 + NodeId.MaxLength + 1 + 3;
        int budget = _maxDatagram - overhead;
        var slice = ImmutableArray.CreateBuilder<NodeInfo>();
        int used = 0;
        foreach (Member member in _members.Values)
        {
            int bytes = SwimCodec.MemberBytes(member.Info);
            if (used + bytes > budget && slice.Count > 0)
            {
                SendFramed(to, [SwimCodec.EncodeMessage(new PushPullMessage(LocalId, join, isReply, slice.ToImmutable()))]);
                slice.Clear();
                used = 0;
            }

            slice.Add(member.Info);
            used += bytes;
        }

        SendFramed(to, [SwimCodec.EncodeMessage(new PushPullMessage(LocalId, join, isReply, slice.ToImmutable()))]);
    }

    private void HandlePushPull(PushPullMessage message, IPEndPoint from)
    {
        if (_leaving)
        {
            return;
        }

        MergeRemoteState(message);
        if (message.IsReply)
        {
            _joinReply?.TrySetResult();
        }
        else if (IsFirstSlice(message))
        {
            SendState(from, join: false, isReply: true);
        }
    }

    // A request spans several datagrams; answer once, on the slice that holds the sender's own entry.
    private static bool IsFirstSlice(PushPullMessage message) => message.Members.Any(m => m.Id == message.From);

    /// <summary>
    /// Merges another member's view (memberlist's mergeState): alive as alive; suspect and dead as suspect
    /// (we check for ourselves rather than take a death on hearsay); left as left.
    /// </summary>
    private void MergeRemoteState(PushPullMessage message)
    {
        foreach (NodeInfo remote in message.Members)
        {
            switch (remote.State)
            {
                case NodeState.Alive:
                    AliveNode(AliveOf(remote));
                    break;
                case NodeState.Suspect:
                case NodeState.Dead:
                    if (!_members.ContainsKey(remote.Id) && remote.Id != LocalId)
                    {
                        if (remote.State == NodeState.Dead)
                        {
                            break; // no need to learn of a stranger only to bury it
                        }

                        AliveNode(AliveOf(remote));
                    }

                    SuspectNode(new SuspectMessage(remote.Id, remote.Incarnation, message.From));
                    break;
                case NodeState.Left:
                    DeadNode(new DeadMessage(remote.Id, remote.Incarnation, remote.Id));
                    break;
            }
        }
    }
}
