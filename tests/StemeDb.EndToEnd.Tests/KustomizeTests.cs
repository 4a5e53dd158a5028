using System.Security.Cryptography;
using System.Text;
using StemeDb.Hosting;
using StemeDb.Testing;

namespace StemeDb.EndToEnd.Tests;

/// <summary>
/// <c>deploy/</c> ships no secret: rendering it without the user's key files fails and names the file to
/// make; with them it renders, carrying the user's key and app token. Runs <c>kubectl kustomize</c> (no
/// cluster needed) where kubectl is installed; skipped, saying so, where it is not.
/// </summary>
public sealed class KustomizeTests : IDisposable
{
    private readonly string _copy = Path.Combine(Path.GetTempPath(), "stemedb-deploy-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_copy))
        {
            Directory.Delete(_copy, recursive: true);
        }
    }

    [SkippableFact]
    public async Task Deploy_renders_only_with_the_users_own_secrets()
    {
        string? kubectl = new[] { "/usr/bin/kubectl", "/usr/local/bin/kubectl" }.FirstOrDefault(File.Exists);
        Skip.If(kubectl is null, "kubectl is not installed here, so `kubectl kustomize deploy/` cannot be checked");

        // A copy without any secret file a developer may have made in their own checkout.
        string source = Path.Combine(BuiltApps.RepositoryRoot, "deploy");
        foreach (string file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(source, file);
            if (relative is "secrets/swim-key" or "secrets/app-token")
            {
                continue;
            }

            string target = Path.Combine(_copy, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        HostCommand.Result refused = await HostCommand.RunAsync(kubectl!, ["kustomize", _copy], TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains("secrets/swim-key", refused.Stderr, StringComparison.Ordinal);
        Assert.Contains("no such file", refused.Stderr, StringComparison.Ordinal);

        string key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(Path.Combine(_copy, "secrets", "swim-key"), key);
        File.WriteAllText(Path.Combine(_copy, "secrets", "app-token"), token);
        HostCommand.Result rendered = await HostCommand.RunAsync(kubectl!, ["kustomize", _copy], TimeSpan.FromSeconds(60));
        Assert.True(rendered.ExitCode == 0, rendered.Stderr);

        // The secrets carry the files' bytes (base64 again, as Secret data is); no shipped key is anywhere.
        Assert.Contains($"key: {Convert.ToBase64String(Encoding.ASCII.GetBytes(key))}", rendered.Stdout, StringComparison.Ordinal);
        Assert.Contains($"token: {Convert.ToBase64String(Encoding.ASCII.GetBytes(token))}", rendered.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.ASCII.GetBytes(ShippedKeys.ExampleKey)), rendered.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(ShippedKeys.ExampleKey, rendered.Stdout, StringComparison.Ordinal);
        // Every app's sidecar sends the app token, and the Secret it names exists under that exact name.
        Assert.Equal(4, rendered.Stdout.Split("dapr.io/app-token-secret: stemedb-app-token").Length - 1);
        Assert.Contains("name: stemedb-app-token\n", rendered.Stdout, StringComparison.Ordinal);
    }
}
