using StemeDb.Cluster.Errors;
using StemeDb.Cluster.Sharding;
using static StemeDb.Cluster.Tests.Sharding.Descriptors;

namespace StemeDb.Cluster.Tests.Sharding;

public class MetaRangeTests
{
    [Fact]
    public void A_new_table_is_one_range_over_every_shard()
    {
        MetaRange table = Table(16);
        MetaRangeEntry only = Assert.Single(table.Current.Entries);
        Assert.Equal((0, 16), (only.StartShard, only.EndShard));
        Assert.Equal(RangeId.Genesis, only.Descriptor.Id);
    }

    [Fact]
    public void A_split_replaces_its_parent_with_both_halves_in_one_snapshot()
    {
        MetaRange table = Table(16);
        long before = table.Current.Version;
        Assert.True(table.Apply(new MetaRangeUpdate(D(1, 0, 6, 1), D(2, 6, 16, 1))));
        Assert.Equal(before + 1, table.Current.Version);
        Assert.Equal([(0, 6), (6, 16)], table.Current.Entries.Select(e => (e.StartShard, e.EndShard)));
        Assert.All(table.Current.Entries, e => Assert.False(e.IsClipped));
    }

    [Fact]
    public void An_older_generation_loses_whatever_its_timestamp()
    {
        MetaRange table = Table(16);
        table.Apply(new MetaRangeUpdate(D(1, 0, 8, 2, wallMs: 10), D(2, 8, 16, 2, wallMs: 10)));
        Assert.False(table.Apply(D(1, 0, 16, 1, wallMs: 999_999)));
        Assert.Equal(2, table.Current.Entries.Length);
    }

    [Fact]
    public void Equal_generations_are_decided_by_the_HLC_then_by_the_proposer()
    {
        MetaRange table = Table(16);
        table.Apply(D(5, 0, 16, 1, wallMs: 10, proposer: 2));
        Assert.True(table.Apply(D(6, 0, 16, 1, wallMs: 11, proposer: 1)));
        Assert.Equal(6UL, table.Current.Entries[0].Descriptor.Id.Value);
        Assert.True(table.Apply(D(7, 0, 16, 1, wallMs: 11, proposer: 3)));
        Assert.Equal(7UL, table.Current.Entries[0].Descriptor.Id.Value);
        Assert.False(table.Apply(D(8, 0, 16, 1, wallMs: 11, proposer: 2)));
    }

    [Fact]
    public void A_duplicate_changes_nothing()
    {
        MetaRange table = Table(16);
        var update = new MetaRangeUpdate(D(1, 0, 6, 1), D(2, 6, 16, 1));
        table.Apply(update);
        MetaRangeSnapshot once = table.Current;
        Assert.False(table.Apply(update));
        Assert.False(table.Apply(new MetaRangeUpdate(D(1, 0, 6, 1), D(2, 6, 16, 1))));
        Assert.Same(once, table.Current);
    }

    [Fact]
    public void A_descriptor_beaten_on_part_of_its_span_keeps_the_rest_clipped()
    {
        // Node 1 merges [0,16) at gen 2 while node 2 splits [4,8) off at gen 3.
        MetaRange table = Table(16);
        table.Apply(D(1, 0, 16, 2, proposer: 1));
        table.Apply(D(9, 4, 8, 3, proposer: 2));
        Assert.Equal([(0, 4, 1UL), (4, 8, 9UL), (8, 16, 1UL)], table.Current.Entries.Select(e => (e.StartShard, e.EndShard, e.Descriptor.Id.Value)));
        Assert.True(table.Current.Entries[0].IsClipped);
        Assert.False(table.Current.Entries[1].IsClipped);
        Assert.True(table.Current.Entries[2].IsClipped);
    }

    [Fact]
    public void Range_moved_answers_carry_the_descriptors_overlapping_a_span()
    {
        MetaRange table = Table(16);
        table.Apply(new MetaRangeUpdate(D(1, 0, 4, 1), D(2, 4, 10, 1), D(3, 10, 16, 1)));
        Assert.Equal([2UL, 3UL], table.Current.DescriptorsOverlapping(5, 12).Select(d => d.Id.Value));
    }

    [Fact]
    public void Rejects_descriptors_past_the_last_shard_and_applies_nothing_of_the_update()
    {
        MetaRange table = Table(16);
        Assert.Throws<InvalidDescriptorException>(() => table.Apply(new MetaRangeUpdate(D(1, 0, 8, 1), D(2, 8, 17, 1))));
        Assert.Single(table.Current.Entries);
    }

    [Theory]
    [InlineData(-1, 4)]
    [InlineData(4, 4)]
    [InlineData(5, 4)]
    public void Descriptors_need_a_non_empty_span(int start, int end)
    {
        var error = Assert.Throws<InvalidDescriptorException>(() => D(1, start, end, 1));
        Assert.Contains("span", error.Message);
    }

    [Fact]
    public void Descriptors_need_distinct_replicas()
    {
        var error = Assert.Throws<InvalidDescriptorException>(() => D(1, 0, 4, 1, replicas: [1, 2, 1]));
        Assert.Contains("twice", error.Message);
    }

    [Fact]
    public void The_genesis_descriptor_must_span_every_shard() =>
        Assert.Throws<InvalidDescriptorException>(() => new MetaRange(16, D(1, 0, 15, 0)));
}
