namespace StemeDb.Hosting;

/// <summary>
/// Dapr's app API token: when <c>APP_API_TOKEN</c> is set, the sidecar sends it in <c>dapr-api-token</c> on
/// every call to the app, and the app refuses calls without it (401), so only its sidecar (or a peer that
/// knows the token, with the direct adapter) reaches the internal API. Health probes stay open.
/// </summary>
public static class DaprAppToken
{
    public const string Variable = "APP_API_TOKEN";
    public const string Header = "dapr-api-token";
}
