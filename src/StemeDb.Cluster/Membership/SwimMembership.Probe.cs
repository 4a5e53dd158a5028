using System.Net;

namespace StemeDb.Cluster.Membership;

/// <summary>
/// Probing: one member per protocol period, in a round-robin order reshuffled on every pass (a failed
/// member is probed by everyone within 2N − 1 periods). Ping; after ProbeTimeout, ping-req through k
/// others; at the end of the period, no ack means suspect. Lifeguard: relays answer with a nack when the
/// target is silent, and missed nacks tell the prober that the fault may be its own (awareness).
/// </summary>
public sealed partial class SwimMembership
{
    private readonly Dictionary<uint, PendingAck> _acks = [];
    private readonly List<NodeId> _probeOrder = [];
    private int _probeIndex;
    private Probe? _probe;

    private void ProbeTick()
    {
        FinishProbe();
        if (!_leaving)
        {
            StartProbe();
        }

        // Lifeguard stretches the period while this member looks unhealthy (never the timeout).
        _probeTimer!.Change(_awareness.Scale(_config.ProbeInterval), Timeout.InfiniteTimeSpan);
    }

    private void StartProbe()
    {
        Member? target = NextProbeTarget();
        if (target is null)
        {
            return;
        }

        uint seq = ++_sequence;
        _probes++;
        _probe = new Probe(seq, target.Info.Id, target.Info.Incarnation);
        _acks[seq] = new PendingAck(Origin: null, OriginSequence: 0, Timer: null);
        var ping = new Ping(seq, target.Info.Id, LocalId);
        // Buddy system: a suspect hears of its suspicion from whoever probes it, so it can refute at once.
        if (_config.Lifeguard && target.Info.State == NodeState.Suspect)
        {
            Send(target.Info.SwimAddress, ping, new SuspectMessage(target.Info.Id, target.Info.Incarnation, LocalId));
        }
        else
        {
            Send(target.Info.SwimAddress, ping);
        }

        _probeTimeoutTimer!.Change(_config.ProbeTimeout, Timeout.InfiniteTimeSpan);
    }

    private void ProbeTimeoutElapsed()
    {
        Probe? probe = _probe;
        if (probe is null || probe.Acked || !_members.TryGetValue(probe.Target, out Member? target))
        {
            return;
        }

        List<Member> relays = RandomMembers(_config.IndirectChecks, m => m.Info.Id != probe.Target && m.Info.State == NodeState.Alive);
        foreach (Member relay in relays)
        {
            Send(relay.Info.SwimAddress, new IndirectPing(probe.Sequence, probe.Target, target.Info.SwimAddress, LocalId, _config.Lifeguard));
        }

        probe.ExpectedNacks = _config.Lifeguard ? relays.Count : 0;
    }

    /// <summary>Judges the probe of the period that just ended.</summary>
    private void FinishProbe()
    {
        Probe? probe = _probe;
        if (probe is null)
        {
            return;
        }

        _probe = null;
        _acks.Remove(probe.Sequence);
        if (probe.Acked)
        {
            _awareness.ApplyDelta(-1);
            return;
        }

        _failedProbes++;
        // Relays that could not even send a nack point at this member's own links (Lifeguard).
        _awareness.ApplyDelta(probe.ExpectedNacks > 0 ? probe.ExpectedNacks - probe.Nacks : 1);
        if (_members.TryGetValue(probe.Target, out Member? target) && target.Info.Incarnation == probe.Incarnation && target.Info.IsActive)
        {
            SuspectNode(new SuspectMessage(probe.Target, probe.Incarnation, LocalId));
        }
    }

    private Member? NextProbeTarget()
    {
        for (int checkedCount = 0; checkedCount <= _probeOrder.Count; checkedCount++)
        {
            if (_probeIndex >= _probeOrder.Count)
            {
                // A new pass: every active member, in a fresh random order.
                _probeOrder.Clear();
                _probeOrder.AddRange(_members.Values.Where(m => m.Info.Id != LocalId && m.Info.IsActive).Select(m => m.Info.Id));
                Shuffle(_probeOrder);
                _probeIndex = 0;
                if (_probeOrder.Count == 0)
                {
                    return null;
                }
            }

            NodeId id = _probeOrder[_probeIndex++];
            if (_members.TryGetValue(id, out Member? m) && m.Info.IsActive)
            {
                return m;
            }
        }

        return null;
    }

    /// <summary>A member met for the first time joins the current pass at a random place.</summary>
    private void AddToProbeOrder(NodeId id)
    {
        int at = _random.Next(_probeIndex, _probeOrder.Count + 1);
        _probeOrder.Insert(at, id);
    }

    private void HandlePing(Ping ping, IPEndPoint from)
    {
        if (ping.Target != LocalId || _leaving)
        {
            return; // meant for a member that used to live at this address
        }

        Send(from, new Ack(ping.Sequence));
    }

    private void HandleIndirectPing(IndirectPing request, IPEndPoint from)
    {
        if (_leaving)
        {
            return;
        }

        uint seq = ++_sequence;
        var pending = new PendingAck(from, request.Sequence, null);
        ITimer timer = _time.CreateTimer(
            _ => Run(() =>
            {
                if (_acks.Remove(seq, out PendingAck? p))
                {
                    p.Timer?.Dispose();
                    if (request.WantNack)
                    {
                        Send(from, new Nack(request.Sequence));
                    }
                }
            }),
            null,
            _config.ProbeTimeout,
            Timeout.InfiniteTimeSpan);
        _acks[seq] = pending with { Timer = timer };
        Send(request.TargetAddress, new Ping(seq, request.Target, LocalId));
    }

    private void HandleAck(Ack ack)
    {
        if (!_acks.TryGetValue(ack.Sequence, out PendingAck? pending))
        {
            return;
        }

        if (pending.Origin is null)
        {
            if (_probe is { } probe && probe.Sequence == ack.Sequence)
            {
                probe.Acked = true;
            }

            return;
        }

        // An ack for a probe run on behalf of another member: pass it on.
        _acks.Remove(ack.Sequence);
        pending.Timer?.Dispose();
        Send(pending.Origin, new Ack(pending.OriginSequence));
    }

    private void HandleNack(Nack nack)
    {
        if (_probe is { } probe && probe.Sequence == nack.Sequence)
        {
            probe.Nacks++;
        }
    }

    /// <summary>
    /// Up to <paramref name="count"/> distinct random members (never this one) that pass <paramref name="filter"/>.
    /// Samples indexes rather than scanning, so it costs O(count) in a large cluster; falls back to a scan
    /// when few members qualify.
    /// </summary>
    private List<Member> RandomMembers(int count, Func<Member, bool> filter)
    {
        var chosen = new List<Member>(count);
        int n = _memberList.Count;
        for (int attempt = 0; attempt < count * 4 && chosen.Count < count && n > 1; attempt++)
        {
            Member m = _memberList[_random.Next(n)];
            if (m.Info.Id != LocalId && !chosen.Contains(m) && filter(m))
            {
                chosen.Add(m);
            }
        }

        if (chosen.Count < count)
        {
            List<Member> rest = [.. _memberList.Where(m => m.Info.Id != LocalId && !chosen.Contains(m) && filter(m))];
            while (chosen.Count < count && rest.Count > 0)
            {
                int j = _random.Next(rest.Count);
                chosen.Add(rest[j]);
                rest[j] = rest[^1];
                rest.RemoveAt(rest.Count - 1);
            }
        }

        return chosen;
    }

    private void Shuffle<T>(List<T> list)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }

    private sealed class Probe(uint sequence, NodeId target, uint incarnation)
    {
        public uint Sequence { get; } = sequence;

        public NodeId Target { get; } = target;

        public uint Incarnation { get; } = incarnation;

        public bool Acked { get; set; }

        public int ExpectedNacks { get; set; }

        public int Nacks { get; set; }
    }

    /// <summary>An ack awaited: for this member's own probe (no origin) or one relayed for <see cref="Origin"/>.</summary>
    private sealed record PendingAck(IPEndPoint? Origin, uint OriginSequence, ITimer? Timer);
}
