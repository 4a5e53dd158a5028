namespace StemeDb.Cluster.Configuration;

/// <summary>
/// SWIM membership with Lifeguard, under <c>Cluster:Swim</c>. Where memberlist has the setting, the default
/// is that of its LAN configuration, except <see cref="SuspicionMult"/> (1 instead of 4). Unless a property
/// says otherwise, N is the number of active members (alive or suspect, this one included) at the moment the
/// formula is applied. The ranges given are those validation accepts.
/// </summary>
public sealed class SwimConfig
{
    /// <summary>Datagrams never exceed this (memberlist's UDPBufferSize: safe under a 1500-byte MTU).</summary>
    public const int MaxDatagramBytes = 1400;

    /// <summary>
    /// IP address the UDP socket binds to. Default <c>127.0.0.1</c>: only this host reaches it until it is
    /// set, as etcd listens on localhost by default, so a node never listens on a network by accident (off
    /// loopback a node needs a key of its own, see the README's threat model). <c>0.0.0.0</c> binds every
    /// interface; peers are then told 127.0.0.1 unless <see cref="AdvertiseAddress"/> is set.
    /// </summary>
    public string BindAddress { get; set; } = "127.0.0.1";

    /// <summary>UDP port. Default 7946 (memberlist's); 0 picks a free one (tests).</summary>
    public int BindPort { get; set; } = 7946;

    /// <summary>
    /// IP address peers reach this node at, when it differs from the bind address (NAT, containers, or a
    /// 0.0.0.0 bind). Default none: the bind address, or 127.0.0.1 for 0.0.0.0.
    /// </summary>
    public string? AdvertiseAddress { get; set; }

    /// <summary>
    /// SWIM addresses (<c>host:port</c>; the node resolves a host name once, at start) to join through. Default
    /// empty: this node forms a new cluster.
    /// </summary>
    public List<string> Seeds { get; set; } = [];

    /// <summary>
    /// The protocol period: one member is probed per period. Default 1 s. The first period is jittered to
    /// 10–100 % of it; each later one lasts ProbeInterval × (local health score + 1), up to
    /// <see cref="AwarenessMaxMultiplier"/> × ProbeInterval. It is also the unit of the suspicion timeout and
    /// the first join retry delay.
    /// </summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Wait this long for a direct ack before asking <see cref="IndirectChecks"/> others; a relay waits as long
    /// for the target before it nacks. Default 500 ms; set it near the p99 round trip. Never stretched by local
    /// health, as in memberlist: waiting longer rarely gets a lost datagram through, while the stretched period
    /// leaves the indirect probes more time. Must be shorter than <see cref="ProbeInterval"/>.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// k: alive members (other than the target) asked to ping a member that did not ack within
    /// <see cref="ProbeTimeout"/>. Default 3; 0 to 16; 0 means direct probes only.
    /// </summary>
    public int IndirectChecks { get; set; } = 3;

    /// <summary>
    /// Suspicion timeout minimum = SuspicionMult × max(1, log10 N) × <see cref="ProbeInterval"/>, with N taken
    /// when the suspicion starts; its maximum is <see cref="SuspicionMaxTimeoutMult"/> times that. Default 1
    /// (memberlist uses 4): with the other defaults a suspicion lasts 1 s to 6 s for N = 4 to 10 and 2 s to 12 s
    /// at N = 100, which brings the median crash detection at N = 100 under 5 s. That is safe only with
    /// <see cref="Lifeguard"/>: the timer starts at the maximum and reaches the minimum only when
    /// <see cref="SuspicionConfirmations"/> other members confirm the suspicion independently. With Lifeguard
    /// off, or when N − 2 (the members other than this one and the suspect) is below SuspicionConfirmations,
    /// the timeout is the minimum, fixed: 1 s in a cluster of three at the defaults.
    /// </summary>
    public int SuspicionMult { get; set; } = 1;

    /// <summary>
    /// Suspicion timeout maximum = SuspicionMaxTimeoutMult × the minimum (see <see cref="SuspicionMult"/>):
    /// where the Lifeguard timer starts before any confirmation. Default 6 (memberlist's); 1 to 100.
    /// </summary>
    public int SuspicionMaxTimeoutMult { get; set; } = 6;

    /// <summary>
    /// K: independent confirmations that shrink a suspicion from its maximum to its minimum. After n of them
    /// timeout = max − log(n + 1) / log(K + 1) × (max − min), counted from the start of the suspicion. Default 2
    /// (memberlist derives it as SuspicionMult − 2 = 2); 0 to 16. Used only with <see cref="Lifeguard"/> and
    /// when N − 2 ≥ K; otherwise no confirmations are expected and the timeout is the minimum.
    /// </summary>
    public int SuspicionConfirmations { get; set; } = 2;

    /// <summary>
    /// How long <c>JoinAsync</c> keeps trying the seeds before it throws. Default 30 s. Retries start after
    /// <see cref="ProbeInterval"/> and double each time, up to <see cref="PushPullInterval"/>.
    /// </summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Retransmit limit = RetransmitMult × ⌈log10(N + 1)⌉: how many outgoing datagrams (probe traffic and
    /// gossip; push-pull carries none) each broadcast rides on before it is dropped, with N taken at each
    /// sending. Default 4 (memberlist's): 4 sends up to N = 9, 8 up to 99, 12 up to 999. 1 to 100.
    /// </summary>
    public int RetransmitMult { get; set; } = 4;

    /// <summary>
    /// Members sent a datagram of pending broadcasts every <see cref="GossipInterval"/>, chosen at random among
    /// the active ones and those dead or left for less than <see cref="GossipToTheDeadTime"/>. Default 3; 1 to 64.
    /// </summary>
    public int GossipNodes { get; set; } = 3;

    /// <summary>
    /// Period of gossip beyond piggybacking (see <see cref="GossipNodes"/>); nothing is sent when no broadcast is
    /// pending. Default 200 ms; the first tick is jittered to 10–100 % of it. A leaving member waits in steps of
    /// this until its broadcasts have all been sent their share.
    /// </summary>
    public TimeSpan GossipInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A dead or left member still gets gossip this long after the change, so it can learn of it and refute;
    /// a left member is forgotten after it. Default 30 s (memberlist's). Forgetting runs every half of this,
    /// first after all of it, so a left member goes between 1 and 1.5 times this after it left. 0 sends the
    /// dead no gossip and forgets nobody (the reaper then runs once, at start).
    /// </summary>
    public TimeSpan GossipToTheDeadTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Dead members are kept this long, in case they were only cut off, then forgotten (an incarnation is kept
    /// so a stale echo cannot revive them). Default 24 h (Serf's). Meanwhile every push-pull period one of them,
    /// chosen at random, gets a state exchange with probability dead / active members, which keeps the
    /// cluster-wide rate near one attempt per period; that is how the sides of a healed partition meet again.
    /// </summary>
    public TimeSpan ReconnectTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Period of the full state exchange with one random alive member, which repairs whatever gossip lost.
    /// Default 30 s (memberlist's). Scaled with every member known (dead and left ones not yet forgotten, this
    /// one included), as in memberlist: up to 32 it is the interval; above, interval × (⌈log2 N − log2 32⌉ + 1),
    /// i.e. 2× up to 64, 3× up to 128, 4× up to 256. The first exchange is jittered to 10–100 % of it. It also
    /// caps the join retry delay.
    /// </summary>
    public TimeSpan PushPullInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Lifeguard's local health: the probe interval stretches to at most this multiple. The score, 0 to
    /// AwarenessMaxMultiplier − 1, rises by 1 for a failed probe (or by the number of relays that sent no nack,
    /// when relays were asked for one) and for each suspicion or death of this member it refutes, and falls by
    /// 1 for each acked probe; the period is ProbeInterval × (score + 1). Default 8 (memberlist's); 1 to 64; 1
    /// never stretches.
    /// </summary>
    public int AwarenessMaxMultiplier { get; set; } = 8;

    /// <summary>
    /// Lifeguard's extensions: local health (<see cref="AwarenessMaxMultiplier"/>), suspicion timers shortened
    /// by confirmations (<see cref="SuspicionConfirmations"/>), nacks from relays, and the buddy system (a
    /// probe of a suspect tells it it is suspected, so it can refute at once). Default on; off is plain SWIM,
    /// with a fixed suspicion timeout of the minimum.
    /// </summary>
    public bool Lifeguard { get; set; } = true;

    /// <summary>
    /// Largest datagram this member sends: the budget for piggybacked gossip and push-pull slices. Default
    /// <see cref="MaxDatagramBytes"/> (1400); 512 to 1400. This member's own entry (id, addresses, metadata)
    /// must fit in half of what the datagram header leaves, so that a push-pull slice or alive message never
    /// splits it.
    /// </summary>
    public int MaxPacketBytes { get; set; } = MaxDatagramBytes;

    /// <summary>
    /// Cluster keys, base64, 32 bytes each: packets are sent with the first and accepted with any, so keys
    /// can rotate. Default empty: unauthenticated, which only a loopback test should use.
    /// </summary>
    public List<string> Keys { get; set; } = [];

    /// <summary>
    /// A new configuration for members on one machine (loopback tests, a cluster on a laptop), like memberlist's
    /// DefaultLocalConfig: round trips there take microseconds, so short timings still leave ample margin and a
    /// cluster forms, detects and heals in seconds. Probe every 300 ms with a 150 ms timeout, gossip every 60 ms,
    /// push-pull every 3 s, and SuspicionMult 2, which doubles the suspicion minimum (600 ms up to N = 10) so a
    /// test process briefly starved of CPU does not declare its members dead. Everything else keeps its
    /// default. Not for a real network.
    /// </summary>
    public static SwimConfig Local() => new()
    {
        ProbeInterval = TimeSpan.FromMilliseconds(300),
        ProbeTimeout = TimeSpan.FromMilliseconds(150),
        GossipInterval = TimeSpan.FromMilliseconds(60),
        PushPullInterval = TimeSpan.FromSeconds(3),
        SuspicionMult = 2,
    };

    internal void Validate(List<string> errors, string prefix)
    {
        if (BindPort < 0 || BindPort > 65535)
        {
            errors.Add($"{prefix}BindPort must be between 0 and 65535 (was {BindPort}).");
        }

        if (!System.Net.IPAddress.TryParse(BindAddress, out _))
        {
            errors.Add($"{prefix}BindAddress must be an IP address (was '{BindAddress}').");
        }

        for (int i = 0; i < Seeds.Count; i++)
        {
            if (!IsHostPort(Seeds[i]))
            {
                errors.Add($"{prefix}Seeds:{i} must be host:port with a port 1..65535 (was '{Seeds[i]}').");
            }
        }

        Positive(errors, $"{prefix}ProbeInterval", ProbeInterval);
        Positive(errors, $"{prefix}ProbeTimeout", ProbeTimeout);
        Positive(errors, $"{prefix}GossipInterval", GossipInterval);
        Positive(errors, $"{prefix}PushPullInterval", PushPullInterval);
        if (GossipToTheDeadTime < TimeSpan.Zero)
        {
            errors.Add($"{prefix}GossipToTheDeadTime must not be negative (was {GossipToTheDeadTime}).");
        }

        if (ProbeTimeout >= ProbeInterval && ProbeInterval > TimeSpan.Zero)
        {
            errors.Add($"{prefix}ProbeTimeout ({ProbeTimeout}) must be shorter than {prefix}ProbeInterval ({ProbeInterval}).");
        }

        Between(errors, $"{prefix}IndirectChecks", IndirectChecks, 0, 16);
        Between(errors, $"{prefix}SuspicionMult", SuspicionMult, 1, 100);
        Between(errors, $"{prefix}SuspicionMaxTimeoutMult", SuspicionMaxTimeoutMult, 1, 100);
        Between(errors, $"{prefix}SuspicionConfirmations", SuspicionConfirmations, 0, 16);
        Positive(errors, $"{prefix}JoinTimeout", JoinTimeout);
        Positive(errors, $"{prefix}ReconnectTimeout", ReconnectTimeout);
        Between(errors, $"{prefix}RetransmitMult", RetransmitMult, 1, 100);
        Between(errors, $"{prefix}GossipNodes", GossipNodes, 1, 64);
        Between(errors, $"{prefix}AwarenessMaxMultiplier", AwarenessMaxMultiplier, 1, 64);
        Between(errors, $"{prefix}MaxPacketBytes", MaxPacketBytes, 512, MaxDatagramBytes);

        Span<byte> key = stackalloc byte[64];
        for (int i = 0; i < Keys.Count; i++)
        {
            if (!Convert.TryFromBase64String(Keys[i], key, out int length) || length != 32)
            {
                errors.Add($"{prefix}Keys:{i} must be 32 bytes in base64.");
            }
        }
    }

    private static bool IsHostPort(string value)
    {
        int colon = value.LastIndexOf(':');
        return colon > 0
            && int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port)
            && port is > 0 and <= 65535;
    }

    private static void Positive(List<string> errors, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{name} must be positive (was {value}).");
        }
    }

    private static void Between(List<string> errors, string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{name} must be between {min} and {max} (was {value}).");
        }
    }
}
