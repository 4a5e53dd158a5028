namespace StemeDb.Hosting;

/// <summary>
/// What an app listening off loopback must have before it starts, so that nothing shipped in this
/// repository is a secret anywhere it matters: a SWIM key of the user's own (not none, not a published
/// one) and an authenticated internal API (a cluster token with the direct transport, the app token with
/// Dapr). On loopback only local processes reach the app, and the embedded cluster needs no setup.
/// Each rule adds one error naming the addresses and saying what to set and how to make it.
/// </summary>
public static class ExposureRules
{
    /// <summary>Characters a cluster token needs at least: 32 base64 characters carry 192 random bits.</summary>
    public const int MinTokenLength = 32;

    public const string MakeSecret = "head -c32 /dev/urandom | base64";

    public static void CheckSwimKeys(NetworkExposure exposure, IReadOnlyList<string> keys, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(exposure);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(errors);
        if (!exposure.IsExposed)
        {
            return;
        }

        if (keys.Count == 0)
        {
            errors.Add(
                $"Cluster:Swim:Keys is empty, and this node listens off loopback ({string.Join(", ", exposure.Addresses)}): anyone who can send it a " +
                $"UDP datagram could join the membership. Set Cluster__Swim__Keys__0 to a key of your own, the same on every node: `{MakeSecret}`.");
            return;
        }

        for (int i = 0; i < keys.Count; i++)
        {
            if (ShippedKeys.Describe(keys[i]) is { } which)
            {
                errors.Add(
                    $"Cluster:Swim:Keys:{i} is {which}, published with StemeDb, and this node listens off loopback ({string.Join(", ", exposure.Addresses)}). " +
                    $"Make a key of your own, the same on every node: `{MakeSecret}` (on Kubernetes: the file deploy/secrets/swim-key, see deploy/README.md).");
            }
        }
    }

    /// <summary>
    /// A node's internal API: off loopback, the direct transport needs a cluster token and Dapr needs the app
    /// token; a token, wherever set, is long enough and differs from every SWIM key (a member's key then
    /// does not also open the data and the range descriptors).
    /// </summary>
    public static void CheckInternalApi(NetworkExposure exposure, Transport transport, string? clusterToken, string clusterTokenSetting, string? appToken, IReadOnlyList<string> swimKeys, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(exposure);
        ArgumentNullException.ThrowIfNull(swimKeys);
        ArgumentNullException.ThrowIfNull(errors);
        CheckToken(clusterToken, clusterTokenSetting, swimKeys, errors);
        if (!exposure.IsExposed)
        {
            return;
        }

        string where = string.Join(", ", exposure.Addresses);
        if (transport == Transport.Direct && string.IsNullOrEmpty(clusterToken))
        {
            errors.Add(
                $"{clusterTokenSetting} is not set, and this app listens off loopback ({where}) with the direct transport: the internal API " +
                $"(/internal/v1: it stores data and merges range descriptors) would answer anyone. Set {clusterTokenSetting.Replace(":", "__", StringComparison.Ordinal)} " +
                $"to a secret of at least {MinTokenLength} characters, the same on every node and gateway and not the SWIM key: `{MakeSecret}`.");
        }

        if (transport == Transport.Dapr && string.IsNullOrEmpty(appToken))
        {
            errors.Add(
                $"{DaprAppToken.Variable} is not set, and this app listens off loopback ({where}) with the Dapr transport: anything that reaches its " +
                $"port could call it without its sidecar. Give the app a token (on Kubernetes the annotation dapr.io/app-token-secret, see deploy/README.md; " +
                $"with the Dapr CLI, {DaprAppToken.Variable} in the app's environment): `{MakeSecret}`.");
        }
    }

    /// <summary>The gateway with the direct transport calls the nodes' internal API: off loopback it needs their token.</summary>
    public static void CheckGatewayToNodes(IReadOnlyList<string> nodeUrls, Transport transport, string? clusterToken, string clusterTokenSetting, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(nodeUrls);
        ArgumentNullException.ThrowIfNull(errors);
        CheckToken(clusterToken, clusterTokenSetting, [], errors);
        List<string> remote = [.. nodeUrls.Where(u => !NetworkExposure.IsLoopback(u))];
        if (transport == Transport.Direct && remote.Count > 0 && string.IsNullOrEmpty(clusterToken))
        {
            errors.Add(
                $"{clusterTokenSetting} is not set, but the nodes are off loopback ({string.Join(", ", remote)}): they refuse calls without " +
                $"their cluster token. Set {clusterTokenSetting.Replace(":", "__", StringComparison.Ordinal)} to the nodes' Node__ClusterToken.");
        }
    }

    private static void CheckToken(string? token, string setting, IReadOnlyList<string> swimKeys, List<string> errors)
    {
        if (string.IsNullOrEmpty(token))
        {
            return;
        }

        // A header cannot carry a line break: a token file made without `tr -d '\n'` would never match.
        if (token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            errors.Add($"{setting} must not contain spaces, line breaks or control characters (a file written by `echo` ends with a line break: `{MakeSecret} | tr -d '\\n'`).");
        }

        if (token.Length < MinTokenLength)
        {
            errors.Add($"{setting} must have at least {MinTokenLength} characters (has {token.Length}): `{MakeSecret}`.");
        }

        if (swimKeys.Contains(token, StringComparer.Ordinal))
        {
            errors.Add($"{setting} must differ from the SWIM keys (Cluster:Swim:Keys): a holder of the SWIM key alone (it travels in every SWIM setup) then opens no data and no range descriptor.");
        }
    }
}
