namespace StemeDb.Contracts;

/// <summary>
/// The paths of a node's internal API (<c>/internal/v1</c>): gateways and peers call them, the gateway never
/// exposes them. No path holds a subject: a Dapr sidecar decodes and normalizes an invoked method's path.
/// </summary>
public static class InternalRoutes
{
    public const string Root = "/internal/v1";

    // Gateways (and tests) call these.
    public const string Write = Root + "/assertions";
    public const string Query = Root + "/query";
    public const string Retract = Root + "/retract";
    public const string LocalRead = Root + "/local/read";
    public const string MetaRange = Root + "/meta-range";
    public const string Members = Root + "/members";
    public const string MembersWatch = Root + "/members/watch";
    public const string RangeSizes = Root + "/ranges/sizes";
    public const string Load = Root + "/load";

    /// <summary>Several calls in one exchange, each answered as it would be alone (<c>BatchApi</c>).</summary>
    public const string Batch = Root + "/batch";

    // Only nodes call these (a caller without the cluster's id is refused).
    public const string Replicate = Root + "/replicate";
    public const string ReplicaRead = Root + "/replica/read";
    public const string Prepare = Root + "/consensus/prepare";
    public const string Accept = Root + "/consensus/accept";
    public const string RangeExport = Root + "/ranges/export";
    public const string RangeImport = Root + "/ranges/import";
    public const string RangeDigests = Root + "/ranges/digests";
}
