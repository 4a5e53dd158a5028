using StemeDb.Cluster.Errors;

namespace StemeDb.Cluster.Configuration;

/// <summary>Configuration that cannot run a cluster; <see cref="Errors"/> names every bad setting.</summary>
public sealed class ClusterConfigException(IReadOnlyList<string> errors, Exception? inner = null)
    : StemeDbClusterException(
        "Invalid cluster configuration:" + Environment.NewLine + string.Join(Environment.NewLine, errors.Select(e => "  - " + e)),
        inner)
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
