using Microsoft.Extensions.Configuration;
using StemeDb.Cluster.Membership;

namespace StemeDb.Cluster.Configuration;

/// <summary>
/// Everything the cluster core needs, bound from the <c>Cluster</c> configuration section (appsettings,
/// environment variables <c>Cluster__Sharding__ShardCount</c>, command line) or built with
/// <see cref="ClusterConfigBuilder"/>. <see cref="Validate"/> names every bad setting at once.
/// </summary>
public sealed class ClusterConfig
{
    public const string SectionName = "Cluster";

    /// <summary>This node's id, also its Dapr app-id unless configured otherwise.</summary>
    public string NodeId { get; set; } = "stemedb-node-1";

    /// <summary>
    /// Part of the cluster's identity with the founding members and the shard count (<see cref="ClusterId"/>):
    /// two clusters founded by nodes of the same names stay apart when their names differ.
    /// </summary>
    public string Name { get; set; } = "stemedb";

    public ShardingConfig Sharding { get; set; } = new();

    public SwimConfig Swim { get; set; } = new();

    public NodeId Node => new(NodeId);

    /// <summary>Binds <paramref name="configuration"/>'s <c>Cluster</c> section and validates it.</summary>
    public static ClusterConfig Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        IConfigurationSection section = configuration.GetSection(SectionName);
        var config = new ClusterConfig();
        try
        {
            // Unknown keys are errors: a misspelt setting silently ignored is a default nobody chose.
            section.Bind(config, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException e)
        {
            throw new ClusterConfigException([$"{SectionName}: {e.Message}"], e);
        }

        config.Validate();
        return config;
    }

    /// <summary>Throws <see cref="ClusterConfigException"/> listing every invalid setting.</summary>
    public ClusterConfig Validate()
    {
        var errors = new List<string>();
        if (!Membership.NodeId.IsValid(NodeId, out string? reason))
        {
            errors.Add($"{SectionName}:NodeId: {reason}");
        }

        if (!Membership.NodeId.IsValid(Name, out reason))
        {
            errors.Add($"{SectionName}:Name: {reason?.Replace("node id", "cluster name", StringComparison.Ordinal)}");
        }

        if (Sharding is null)
        {
            errors.Add($"{SectionName}:Sharding is missing.");
        }
        else
        {
            Sharding.Validate(errors, $"{SectionName}:Sharding:");
        }

        if (Swim is null)
        {
            errors.Add($"{SectionName}:Swim is missing.");
        }
        else
        {
            Swim.Validate(errors, $"{SectionName}:Swim:");
        }

        if (errors.Count > 0)
        {
            throw new ClusterConfigException(errors);
        }

        return this;
    }
}
