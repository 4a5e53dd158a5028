namespace StemeDb.Cluster.Errors;

/// <summary>Base of the errors the cluster core reports; each subclass says what went wrong.</summary>
public abstract class StemeDbClusterException : Exception
{
    protected StemeDbClusterException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
