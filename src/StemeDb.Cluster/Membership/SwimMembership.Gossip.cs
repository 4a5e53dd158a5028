namespace StemeDb.Cluster.Membership;

/// <summary>
/// Dissemination beyond piggybacking: every gossip interval, pending broadcasts go to a few random members.
/// Nothing is sent when nothing is pending, so an idle cluster costs only its probes and push-pulls.
/// </summary>
public sealed partial class SwimMembership
{
    private void GossipTick()
    {
        if (_broadcasts.Count == 0)
        {
            return;
        }

        long now = _time.GetTimestamp();
        // Recently dead members still get gossip, so that they learn of it and can refute.
        List<Member> targets = RandomMembers(
            _config.GossipNodes,
            m => m.Info.IsActive || _time.GetElapsedTime(m.StateChanged, now) < _config.GossipToTheDeadTime);
        int budget = _maxDatagram - SwimCodec.HeaderBytes(_keyring);
        foreach (Member target in targets)
        {
            List<byte[]> gossip = _broadcasts.Take(budget, ActiveCount());
            if (gossip.Count == 0)
            {
                break;
            }

            SendFramed(target.Info.SwimAddress, gossip);
        }
    }
}
