namespace StemeDb.Contracts;

/// <summary>
/// The request limits gateways and nodes agree on: a gateway never lets through what a node would refuse.
/// A node takes bodies up to <see cref="MaxNodeBodyBytes"/> (a page of range data is bigger than any
/// client request); a gateway's own limit may be lower, never higher.
/// </summary>
public static class RequestLimits
{
    /// <summary>Assertions in one write request.</summary>
    public const int MaxBatch = 1000;

    /// <summary>Bytes of one request body a node reads.</summary>
    public const long MaxNodeBodyBytes = 4L << 20;

    /// <summary>The gateway's default body limit.</summary>
    public const long DefaultGatewayBodyBytes = 1L << 20;
}
