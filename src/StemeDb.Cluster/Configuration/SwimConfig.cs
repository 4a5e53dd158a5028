namespace StemeDb.Cluster.Configuration;

/// <summary>
/// SWIM membership (DESIGN §5). Defaults are memberlist's LAN configuration; settings live under
/// <c>Cluster:Swim</c>.
/// </summary>
public sealed class SwimConfig
{
    /// <summary>Datagrams never exceed this (memberlist's UDPBufferSize: safe under a 1500-byte MTU).</summary>
    public const int MaxDatagramBytes = 1400;

    /// <summary>Address the UDP socket binds to.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>UDP port; 0 picks a free one (tests).</summary>
    public int BindPort { get; set; } = 7946;

    /// <summary>Address peers reach this node at, when it differs from the bind address (NAT, containers).</summary>
    public string? AdvertiseAddress { get; set; }

    /// <summary>SWIM addresses (<c>host:port</c>) to join through; empty forms a new cluster.</summary>
    public List<string> Seeds { get; set; } = [];

    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Wait this long for an ack before asking others (set to the p99 round trip).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>k: members asked to ping a member that did not answer.</summary>
    public int IndirectChecks { get; set; } = 3;

    /// <summary>
    /// Suspicion lasts at least SuspicionMult × max(1, log10 N) × ProbeInterval. memberlist uses 4; here it
    /// is 1, for a median detection of 5 s at N = 100 (DESIGN §8). That is safe only with Lifeguard: the
    /// timer starts at <see cref="SuspicionMaxTimeoutMult"/> times the minimum and reaches the minimum only
    /// when <see cref="SuspicionConfirmations"/> other members confirm the suspicion independently.
    /// </summary>
    public int SuspicionMult { get; set; } = 1;

    /// <summary>Suspicion lasts at most this many times its minimum (Lifeguard).</summary>
    public int SuspicionMaxTimeoutMult { get; set; } = 6;

    /// <summary>K: independent confirmations that shrink a suspicion to its minimum (memberlist: SuspicionMult − 2 = 2).</summary>
    public int SuspicionConfirmations { get; set; } = 2;

    /// <summary>How long <c>JoinAsync</c> keeps trying the seeds before giving up.</summary>
    public TimeSpan JoinTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A broadcast is piggybacked RetransmitMult × ceil(log10(N + 1)) times.</summary>
    public int RetransmitMult { get; set; } = 4;

    public int GossipNodes { get; set; } = 3;

    public TimeSpan GossipInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan GossipToTheDeadTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Dead members are kept, and retried now and then in case they were only cut off, this long (Serf: 24 h).</summary>
    public TimeSpan ReconnectTimeout { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Full state sync with a random member; grows with N above 32 members.</summary>
    public TimeSpan PushPullInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Lifeguard's local health: the probe interval stretches up to this multiple.</summary>
    public int AwarenessMaxMultiplier { get; set; } = 8;

    /// <summary>Lifeguard's extensions (local health, dynamic suspicion, buddy system); off is plain SWIM.</summary>
    public bool Lifeguard { get; set; } = true;

    public int MaxPacketBytes { get; set; } = MaxDatagramBytes;

    /// <summary>
    /// Cluster keys, base64, 32 bytes each: packets are sent with the first and accepted with any, so keys
    /// can rotate. Empty means unauthenticated, which only a loopback test should use.
    /// </summary>
    public List<string> Keys { get; set; } = [];

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
