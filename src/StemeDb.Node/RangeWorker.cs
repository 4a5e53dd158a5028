using StemeDb.Cluster.Configuration;
using StemeDb.Cluster.Consensus;
using StemeDb.Cluster.Membership;
using StemeDb.Cluster.Sharding;
using StemeDb.Contracts.Wire;
using StemeDb.Storage;

namespace StemeDb.Node;

/// <summary>
/// The range work of this node, every <see cref="NodeOptions.RangeCheckInterval"/>, each step of it on its
/// own (a failing peer or range fails only its step, logged, and backs off; the round goes on), and the
/// whole round bounded in time:
/// <list type="number">
/// <item>recovery: a slot this node promised and saw no decision of for <see cref="NodeOptions.ConsensusRecoveryTimeout"/>
/// is resolved by this node (carrying what was accepted, or renewing the range), so the range serves again;</item>
/// <item>the plan of the <see cref="RangeManager"/> for the ranges this node leads, each change carried
/// through consensus by <see cref="DescriptorProposer"/> (a replica change first copies the bulk to the
/// new replicas while the range still serves);</item>
/// <item>dropping the data of ranges no longer replicated here (<see cref="RangeData.DropForeign"/>);</item>
/// <item>anti-entropy, when due: the leader of each range exchanges the shards that differ with each replica.</item>
/// </list>
/// </summary>
public sealed class RangeWorker(
    ClusterNode node,
    MetaRangeSync sync,
    ConsensusAcceptor acceptor,
    DescriptorProposer proposer,
    RangeData data,
    FenceGate gate,
    StoreHealth health,
    RocksDbAssertionStore store,
    LoadTracker load,
    PeerClient peers,
    ClusterConfig config,
    NodeOptions options,
    TimeProvider time,
    ILogger<RangeWorker> logger) : BackgroundService
{
    private readonly RangeManager _manager = new(config.Sharding);
    private readonly Dictionary<string, (int Failures, long RetryAt)> _backoff = []; // the loop's only
    private long _nextAntiEntropy;
    private CancellationToken _stopping; // the host's, set before the first round: a step's own cancellation is a failure, this one ends the round

    /// <summary>No round runs longer than this; what it did not finish is planned again next round.</summary>
    public TimeSpan RoundBudget => TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(30).Ticks, options.RangeCheckInterval.Ticks * 10));

    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        _stopping = cancellationToken;
        using var round = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        round.CancelAfter(RoundBudget);
        health.Probe();
        if (!health.IsHealthy)
        {
            return; // a node whose store refuses writes proposes nothing and fills nobody
        }

        await RecoverAsync(round.Token).ConfigureAwait(false);
        await PlanAsync(round.Token).ConfigureAwait(false);
        await StepAsync("drop", () =>
        {
            data.DropForeign();
            HashSet<SlotId> current = [.. node.Table.Current.Descriptors().Select(SlotId.Of)];
            gate.Forget(slot => !current.Contains(slot));
            acceptor.Collect();
            return Task.CompletedTask;
        }).ConfigureAwait(false);

        if (time.GetTimestamp() >= _nextAntiEntropy)
        {
            await AntiEntropyAsync(round.Token).ConfigureAwait(false);
            _nextAntiEntropy = time.GetTimestamp() + (long)(options.AntiEntropyInterval.TotalSeconds * time.TimestampFrequency);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _nextAntiEntropy = time.GetTimestamp() + (long)(options.AntiEntropyInterval.TotalSeconds * time.TimestampFrequency);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.RangeCheckInterval, time, stoppingToken).ConfigureAwait(false);
                if (node.IsReady)
                {
                    await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Never end the loop (the host would stop with it): range work is planned again next round.
                logger.LogError(e, "Range work round failed unexpectedly; it is tried again next round");
            }
        }
    }

    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        foreach ((RangeDescriptor predecessor, TimeSpan age) in acceptor.Undecided())
        {
            if (age < options.ConsensusRecoveryTimeout)
            {
                continue;
            }

            await StepAsync($"recover {predecessor.Id}", async () =>
            {
                logger.LogWarning("Range {Range} at generation {Generation} has been fenced here for {Age} without a decision; resolving it", predecessor.Id, predecessor.Generation, age);
                await proposer.ProposeAsync(DescriptorChange.Renew(predecessor, node.Clock.Now(), node.Id), "recovery of an abandoned change", "recovery", cancellationToken).ConfigureAwait(false);
            }).ConfigureAwait(false);
        }
    }

    private async Task PlanAsync(CancellationToken cancellationToken)
    {
        HashSet<NodeId> live = [.. node.Swim.ActiveMembers.Select(m => m.Id)];
        LoadView view = await LoadViewAsync(live, cancellationToken).ConfigureAwait(false);
        RangePlan plan = _manager.Plan(node.Table.Current, store.Sizes(), live, node.Id, node.Clock.Now(), sync.AgeOf, onlyLedByProposer: true, view);
        foreach (RangeChange planned in plan.Changes)
        {
            DescriptorChange change = DescriptorProposer.ToChange(planned);
            if (!proposer.StillCurrent(change))
            {
                continue; // the table moved while earlier changes were carried out: planned again next round
            }

            await StepAsync($"range {change.Replaces[0].Id}", async () =>
            {
                // The bulk while the range still serves; after the promises only what changed since is copied.
                foreach (NodeId newcomer in DescriptorProposer.Newcomers(change))
                {
                    RangeDescriptor target = change.Creates.First(c => c.Replicas.Contains(newcomer));
                    if (!await data.PushAsync(target.StartShard, target.EndShard, newcomer, cancellationToken).ConfigureAwait(false))
                    {
                        throw new HttpRequestException($"{newcomer} could not be filled with range {target.Id}");
                    }
                }

                ChangeResult result = await proposer.ProposeAsync(change, planned.Reason, planned.Cause, cancellationToken).ConfigureAwait(false);
                if (!result.Took && result.Publish.IsEmpty && result.Current.IsEmpty)
                {
                    // Not decided (no majority, or a new replica could not be filled): renew at once, so the
                    // replicas that promised serve again without waiting for the recovery timeout.
                    await proposer.ProposeAsync(DescriptorChange.Renew(change.Replaces[0], node.Clock.Now(), node.Id), "giving back an undecided change", "recovery", cancellationToken).ConfigureAwait(false);
                    throw new InvalidOperationException($"the {change.Kind} of range {change.Replaces[0].Id} was not decided: {result.Summary}");
                }
            }).ConfigureAwait(false);
        }

        foreach (MetaRangeEntry entry in plan.Unavailable)
        {
            logger.LogError("Range {Range} [{Start}, {End}) has no live replica; its data waits on {Replicas}", entry.Descriptor.Id, entry.StartShard, entry.EndShard, string.Join(", ", entry.Descriptor.Replicas));
        }

        foreach (MetaRangeEntry entry in plan.Clipped)
        {
            logger.LogError("The table holds {Descriptor} over only [{Start}, {End}) of its span: descriptors that were not decided by consensus reached it", entry.Descriptor, entry.StartShard, entry.EndShard);
        }
    }

    /// <summary>This node's measured load, and every live member's rate as it reports it (a member that does not answer counts as idle).</summary>
    private async Task<LoadView> LoadViewAsync(IReadOnlySet<NodeId> live, CancellationToken cancellationToken)
    {
        ShardLoad mine = load.Current;
        var rates = new Dictionary<NodeId, double> { [node.Id] = mine.Of(0, mine.ShardCount) };
        PeerResult<NodeLoadDto>[] answers = await Task.WhenAll(live.Where(n => n != node.Id).Select(n => peers.LoadAsync(n, cancellationToken))).ConfigureAwait(false);
        foreach (PeerResult<NodeLoadDto> answer in answers.Where(a => a.IsOk))
        {
            rates[new NodeId(answer.Value!.Node)] = answer.Value.Rate;
        }

        foreach (NodeId member in live)
        {
            rates.TryAdd(member, 0);
        }

        return new LoadView(mine, rates);
    }

    private async Task AntiEntropyAsync(CancellationToken cancellationToken)
    {
        foreach (MetaRangeEntry entry in node.Table.Current.Entries)
        {
            RangeRoute route = node.Router.RouteShard(entry.StartShard);
            if (!route.HasLiveReplica || route.Leader != node.Id)
            {
                continue;
            }

            foreach (NodeId replica in route.LiveReplicas.ToArray().Where(r => r != node.Id))
            {
                await StepAsync($"anti-entropy {entry.Descriptor.Id} with {replica}", async () =>
                {
                    int pulled = await data.PullAsync(entry.StartShard, entry.EndShard, replica, cancellationToken).ConfigureAwait(false);
                    bool pushed = pulled >= 0 && await data.PushAsync(entry.StartShard, entry.EndShard, replica, cancellationToken).ConfigureAwait(false);
                    if (pulled > 0)
                    {
                        logger.LogInformation("Anti-entropy with {Replica} on [{Start}, {End}): pulled {Pulled} records", replica, entry.StartShard, entry.EndShard, pulled);
                    }

                    if (!pushed)
                    {
                        throw new HttpRequestException($"anti-entropy with {replica} did not complete");
                    }
                }).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs one step unless it is backing off; a failure is logged and backs the step off (exponentially, at most 5 minutes).</summary>
    private async Task StepAsync(string step, Func<Task> work)
    {
        long now = time.GetTimestamp();
        if (_backoff.TryGetValue(step, out (int Failures, long RetryAt) state) && now < state.RetryAt)
        {
            return;
        }

        try
        {
            await work().ConfigureAwait(false);
            _backoff.Remove(step);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            int failures = state.Failures + 1;
            TimeSpan wait = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(5).Ticks, options.RangeCheckInterval.Ticks << Math.Min(failures - 1, 10)));
            _backoff[step] = (failures, now + (long)(wait.TotalSeconds * time.TimestampFrequency));
            logger.LogWarning("Range work: {Step} failed ({Error}); tried again in {Wait}", step, e.Message, wait);
        }
    }
}
