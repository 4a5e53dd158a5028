using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// Whether this node's store takes writes. A failed write (disk full, I/O error) makes the node not ready
/// (<c>/readyz</c> 503) and every request it would coordinate a 503 that tells the gateway to try another
/// replica, until a probe write succeeds again (tried every range-work round).
/// </summary>
public sealed class StoreHealth(RocksDbAssertionStore store, ILogger<StoreHealth> logger)
{
    private volatile string? _failure;

    public bool IsHealthy => _failure is null;

    public string? Failure => _failure;

    public void Failed(StorageException e)
    {
        if (_failure is null)
        {
            logger.LogError(e, "The store refused a write; this node is not ready and sends requests elsewhere until a probe write succeeds");
        }

        _failure = e.Message;
    }

    /// <summary>After a failure: one small synced write; healthy again when it succeeds.</summary>
    public void Probe()
    {
        if (_failure is null)
        {
            return;
        }

        try
        {
            store.PutMeta(MetaKind.Probe, [], BitConverter.GetBytes(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
            _failure = null;
            logger.LogWarning("The store takes writes again; this node is ready");
        }
        catch (StorageException e)
        {
            logger.LogDebug(e, "The store still refuses writes");
        }
    }
}
