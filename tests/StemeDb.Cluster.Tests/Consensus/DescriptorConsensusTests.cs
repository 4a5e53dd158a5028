using Xunit.Abstractions;

namespace StemeDb.Cluster.Tests.Consensus;

/// <summary>
/// Descriptor consensus under loss, duplication, reordering, crashes and competing proposers (see
/// <see cref="ConsensusSimulation"/>): at most one descriptor change decided per (range, generation).
/// </summary>
public sealed class DescriptorConsensusTests(ITestOutputHelper output)
{
    [Fact]
    public void At_most_one_change_is_decided_per_slot_over_ten_thousand_schedules()
    {
        int proposals = 0, applied = 0, carried = 0, slots = 0, merges = 0, abandoned = 0;
        for (int seed = 0; seed < 10_000; seed++)
        {
            var sim = new ConsensusSimulation(seed);
            sim.Run();
            Assert.True(sim.Violations.Count == 0, $"seed {seed}: {string.Join("\n", sim.Violations)}");
            proposals += sim.Proposals;
            applied += sim.Applied;
            carried += sim.Carried;
            slots += sim.ChosenSlots;
            merges += sim.MergesApplied;
            abandoned += sim.Abandoned;
        }

        output.WriteLine($"{proposals} proposals, {applied} took effect, {carried} learned another proposer's value, {slots} slots decided, {merges} merges took effect, {abandoned} merge slots renewed after their merge was refused");
        // The schedules must exercise what they claim to: changes that succeed and ones that compete.
        Assert.True(applied > 1000, $"only {applied} changes took effect");
        Assert.True(carried > 100, $"only {carried} proposers carried another's value");
        Assert.True(merges > 100 && abandoned > 10, $"merges: {merges} took effect, {abandoned} slots abandoned");
    }

    [Theory]
    [InlineData(AcceptorFlaw.ForgetsPromise)]
    [InlineData(AcceptorFlaw.ForgetsAccepted)]
    public void An_acceptor_that_forgets_what_it_promised_or_accepted_is_caught(AcceptorFlaw flaw)
    {
        // The same schedules with a broken acceptor: the checks must find a second value in some slot.
        int caught = 0;
        for (int seed = 0; seed < 10_000 && caught == 0; seed++)
        {
            var sim = new ConsensusSimulation(seed, flaw);
            sim.Run();
            caught += sim.Violations.Count > 0 ? 1 : 0;
        }

        Assert.True(caught > 0, $"no schedule caught an acceptor that {flaw}");
    }
}
