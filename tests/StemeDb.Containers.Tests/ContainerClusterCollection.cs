namespace StemeDb.Containers.Tests;

/// <summary>
/// The fault scenarios: they share one <see cref="ContainerCluster"/> (built once, minutes to start) and
/// run one after another on it, each reading back every write acknowledged before it.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ContainerClusterCollection : ICollectionFixture<ContainerCluster>
{
    public const string Name = "fault scenarios on one container cluster";
}
