using Microsoft.Extensions.Logging;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// State changes, as in SWIM §4.2 and memberlist's state.go. An alive message wins over what is known only
/// with a higher incarnation; a suspicion wins over alive at the same or a higher one; a death wins over
/// both. Only a member raises its own incarnation, to refute a suspicion or death of itself. Every change
/// is gossiped on and raised as a <see cref="MembershipEvent"/>.
/// </summary>
public sealed partial class SwimMembership
{
    private const int MaxTombstones = 10_000;

    private void AliveNode(AliveMessage alive)
    {
        if (alive.Node == LocalId)
        {
            // Someone holds a newer life of ours than we do (we restarted with an older incarnation).
            if (alive.Incarnation > _incarnation && !_leaving)
            {
                Refute(alive.Incarnation);
            }

            return;
        }

        long now = _time.GetTimestamp();
        if (!_members.TryGetValue(alive.Node, out Member? member))
        {
            if (_tombstones.TryGetValue(alive.Node, out uint buried) && alive.Incarnation <= buried)
            {
                return; // a stale echo of a member that died and was forgotten
            }

            _tombstones.Remove(alive.Node);
            var info = new NodeInfo(alive.Node, alive.Address, alive.AppId, alive.HttpAddress, alive.Incarnation, NodeState.Alive, alive.Metadata);
            AddMember(new Member(info, now));
            AddToProbeOrder(alive.Node);
            Broadcast(alive.Node, alive);
            Raise(MembershipEventKind.Joined, info);
            _logger.LogInformation("Member {Node} joined at {Address} (incarnation {Incarnation})", alive.Node, alive.Address, alive.Incarnation);
            return;
        }

        if (alive.Incarnation <= member.Info.Incarnation)
        {
            return;
        }

        NodeState before = member.Info.State;
        _activeCount = -1;
        member.Suspicion?.Dispose();
        member.Suspicion = null;
        member.Info = member.Info with
        {
            SwimAddress = alive.Address,
            AppId = alive.AppId,
            HttpAddress = alive.HttpAddress,
            Metadata = alive.Metadata,
            Incarnation = alive.Incarnation,
            State = NodeState.Alive,
        };
        Broadcast(alive.Node, alive);
        if (before == NodeState.Alive)
        {
            return; // a metadata update, not a change of state
        }

        member.StateChanged = now;
        if (before == NodeState.Suspect)
        {
            Raise(MembershipEventKind.Alive, member.Info);
            _logger.LogInformation("Member {Node} refuted its suspicion (incarnation {Incarnation})", alive.Node, alive.Incarnation);
        }
        else
        {
            AddToProbeOrder(alive.Node);
            Raise(MembershipEventKind.Joined, member.Info);
            _logger.LogInformation("Member {Node} rejoined after being {State} (incarnation {Incarnation})", alive.Node, before, alive.Incarnation);
        }
    }

    private void SuspectNode(SuspectMessage suspect)
    {
        if (suspect.Node == LocalId)
        {
            if (!_leaving && suspect.Incarnation >= _incarnation)
            {
                _awareness.ApplyDelta(1); // being suspected hints that this member is the slow one
                Refute(suspect.Incarnation);
            }

            return;
        }

        if (!_members.TryGetValue(suspect.Node, out Member? member) || suspect.Incarnation < member.Info.Incarnation)
        {
            return;
        }

        if (member.Info.State == NodeState.Suspect)
        {
            // Lifeguard: an independent confirmation shortens the timer; pass it on so others count it too.
            if (member.Suspicion?.Confirm(suspect.From) == true)
            {
                Broadcast(suspect.Node, suspect);
            }

            return;
        }

        if (member.Info.State != NodeState.Alive)
        {
            return;
        }

        member.Info = member.Info with { Incarnation = suspect.Incarnation, State = NodeState.Suspect };
        member.StateChanged = _time.GetTimestamp();
        _suspicions++;
        Broadcast(suspect.Node, suspect);
        Raise(MembershipEventKind.Suspect, member.Info);
        _logger.LogInformation("Member {Node} is suspect (incarnation {Incarnation}, by {From})", suspect.Node, suspect.Incarnation, suspect.From);

        int members = ActiveCount();
        TimeSpan min = _config.ProbeInterval * (_config.SuspicionMult * Math.Max(1.0, Math.Log10(members)));
        TimeSpan max = min * _config.SuspicionMaxTimeoutMult;
        // Plain SWIM has a fixed timeout; Lifeguard needs k others to agree before it gets that short.
        int k = !_config.Lifeguard || members - 2 < _config.SuspicionConfirmations ? 0 : _config.SuspicionConfirmations;
        NodeId node = suspect.Node;
        uint incarnation = suspect.Incarnation;
        member.Suspicion = new Suspicion(_time, suspect.From, k, min, max, () => Run(() => SuspicionExpired(node, incarnation)));
    }

    private void SuspicionExpired(NodeId node, uint incarnation)
    {
        if (_members.TryGetValue(node, out Member? member) && member.Info.State == NodeState.Suspect && member.Info.Incarnation == incarnation)
        {
            _deathsDeclared++;
            _logger.LogInformation("Member {Node} did not refute its suspicion in time: declaring it dead", node);
            DeadNode(new DeadMessage(node, incarnation, LocalId));
        }
    }

    private void DeadNode(DeadMessage dead)
    {
        if (dead.Node == LocalId)
        {
            if (!_leaving && dead.Incarnation >= _incarnation)
            {
                _awareness.ApplyDelta(1);
                Refute(dead.Incarnation);
            }

            return;
        }

        if (!_members.TryGetValue(dead.Node, out Member? member) || dead.Incarnation < member.Info.Incarnation)
        {
            return;
        }

        bool left = dead.From == dead.Node;
        if (!member.Info.IsActive)
        {
            // Already gone; the member's own word that it left is better evidence than a death.
            if (left && member.Info.State == NodeState.Dead)
            {
                member.Info = member.Info with { State = NodeState.Left, Incarnation = dead.Incarnation };
            }

            return;
        }

        member.Suspicion?.Dispose();
        member.Suspicion = null;
        _activeCount = -1;
        member.Info = member.Info with { Incarnation = dead.Incarnation, State = left ? NodeState.Left : NodeState.Dead };
        member.StateChanged = _time.GetTimestamp();
        Broadcast(dead.Node, dead);
        Raise(left ? MembershipEventKind.Left : MembershipEventKind.Dead, member.Info);
        if (left)
        {
            _logger.LogInformation("Member {Node} left", dead.Node);
        }
        else
        {
            _logger.LogWarning("Member {Node} is dead (declared by {From}, incarnation {Incarnation})", dead.Node, dead.From, dead.Incarnation);
        }
    }

    /// <summary>Outranks an accusation against this member: a higher incarnation, gossiped as alive.</summary>
    private void Refute(uint accused)
    {
        _refutations++;
        _incarnation = Math.Max(_incarnation, accused) + 1;
        Member self = _members[LocalId];
        self.Info = self.Info with { Incarnation = _incarnation, State = NodeState.Alive };
        Broadcast(LocalId, AliveOf(self.Info));
        _logger.LogInformation("Refuting an accusation at incarnation {Accused}: now {Incarnation}", accused, _incarnation);
    }

    private void Bury(NodeId node, uint incarnation)
    {
        if (_tombstones.Count >= MaxTombstones)
        {
            _tombstones.Remove(_tombstones.Keys.First());
        }

        _tombstones[node] = incarnation;
    }
}
