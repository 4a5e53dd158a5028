using System.Net;
using Microsoft.Extensions.Configuration;

namespace StemeDb.Hosting;

/// <summary>
/// Whether an app can be reached from off this host: every address it listens on or advertises that is
/// not loopback, each named by the setting it came from. Read from configuration before anything binds,
/// so a refusal comes before the first packet. A host name other than <c>localhost</c> counts as exposed:
/// it may resolve anywhere.
/// </summary>
public sealed record NetworkExposure(IReadOnlyList<string> Addresses)
{
    public bool IsExposed => Addresses.Count > 0;

    /// <summary>
    /// The app's HTTP listening addresses as ASP.NET Core takes them (<c>urls</c>, i.e. <c>--urls</c> or
    /// <c>ASPNETCORE_URLS</c>; <c>http_ports</c>/<c>https_ports</c>, which listen on every interface;
    /// <c>Kestrel:Endpoints:*:Url</c>), plus <paramref name="others"/> (setting name, address or URL).
    /// Nothing configured is Kestrel's default, <c>http://localhost:5000</c>.
    /// </summary>
    public static NetworkExposure Of(IConfiguration configuration, params (string Setting, string? Address)[] others)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var exposed = new List<string>();
        foreach (string url in (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Check("urls (--urls, ASPNETCORE_URLS)", url);
        }

        foreach (string setting in new[] { "http_ports", "https_ports" })
        {
            if (!string.IsNullOrWhiteSpace(configuration[setting]))
            {
                exposed.Add($"{setting} ({configuration[setting]}: every interface)");
            }
        }

        foreach (IConfigurationSection endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            Check($"Kestrel:Endpoints:{endpoint.Key}:Url", endpoint["Url"]);
        }

        foreach ((string setting, string? address) in others)
        {
            Check(setting, address);
        }

        return new NetworkExposure(exposed);

        void Check(string setting, string? address)
        {
            if (!string.IsNullOrWhiteSpace(address) && !IsLoopback(address))
            {
                exposed.Add($"{setting} = {address}");
            }
        }
    }

    /// <summary>A URL, <c>host:port</c> or bare host/IP that only this host can reach.</summary>
    public static bool IsLoopback(string address)
    {
        ArgumentNullException.ThrowIfNull(address);
        string host = address.Trim();
        if (host.Contains("://", StringComparison.Ordinal))
        {
            // Kestrel's wildcards (*, +) are not valid URI hosts: any of them listens everywhere.
            int start = host.IndexOf("://", StringComparison.Ordinal) + 3;
            string rest = host[start..];
            if (rest.StartsWith('*') || rest.StartsWith('+'))
            {
                return false;
            }

            if (!Uri.TryCreate(host, UriKind.Absolute, out Uri? uri))
            {
                return false;
            }

            host = uri.Host;
        }
        else if (host.StartsWith('[') && host.IndexOf(']', StringComparison.Ordinal) is > 0 and int close)
        {
            host = host[1..close]; // [v6]:port
        }
        else if (!IPAddress.TryParse(host, out _) && host.LastIndexOf(':') is > 0 and int colon)
        {
            host = host[..colon]; // host:port
        }

        host = host.Trim('[', ']');
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return IPAddress.TryParse(host, out IPAddress? ip) && IPAddress.IsLoopback(ip);
    }
}
