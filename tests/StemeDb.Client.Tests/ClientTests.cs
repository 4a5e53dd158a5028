using System.Text.Json;
using StemeDb.Contracts.Wire;
using StemeDb.Testing;

namespace StemeDb.Client.Tests;

/// <summary>The client against the embedded cluster: writes, reads, retractions, views, and bad input as typed errors.</summary>
public sealed class ClientTests(EmbeddedCluster cluster) : IClassFixture<EmbeddedCluster>, IDisposable
{
    private readonly Clients _clients = new(cluster.Gateway);

    private StemeDbClient Client => _clients.Client;

    public void Dispose() => _clients.Dispose();

    [Fact]
    public async Task A_written_assertion_reads_back_with_its_id_and_a_retraction_shows_in_the_history()
    {
        string subject = "client:" + Guid.NewGuid().ToString("N");
        WriteResult written = await Client.WriteAsync(NewAssertion.Of(subject, "name", new { first = "Ada", born = 1815 }, source: "test", confidence: 0.5));
        string id = Assert.Single(written.Ids);
        Assert.Equal(1, written.Stored);
        await Client.WriteAsync(NewAssertion.Of(subject, "age", 36));

        AssertionView read = Assert.Single(await Client.ReadAsync(subject, predicate: "name"));
        Assert.Equal(id, read.Id);
        Assert.Equal(subject, read.Subject);
        Assert.Equal("Ada", read.Object.GetProperty("first").GetString());
        Assert.Equal("test", read.Source);
        Assert.Equal(0.5, read.Confidence);
        Assert.Null(read.RetractedAt);
        Assert.Equal(2, (await Client.ReadAsync(subject)).Count);

        await Client.RetractAsync(subject, id);
        await Client.RetractAsync(subject, id); // a retraction is idempotent, so the client may retry it
        Assert.Empty(await Client.ReadAsync(subject, predicate: "name"));
        AssertionView gone = Assert.Single(await Client.ReadAsync(subject, predicate: "name", history: true));
        Assert.NotNull(gone.RetractedAt);
    }

    [Fact]
    public async Task A_batch_answers_ids_in_order_and_writing_it_again_stores_nothing_new()
    {
        string prefix = "batch:" + Guid.NewGuid().ToString("N") + ":";
        NewAssertion[] batch = [.. Enumerable.Range(0, 50).Select(i => NewAssertion.Of(prefix + i, "n", i))];
        WriteResult first = await Client.WriteBatchAsync(batch);
        Assert.Equal(50, first.Ids.Count);
        Assert.Equal(50, first.Stored);
        WriteResult again = await Client.WriteBatchAsync(batch);
        Assert.Equal(first.Ids, again.Ids);
        Assert.Equal(0, again.Stored);
        for (int i = 0; i < 50; i += 7)
        {
            Assert.Equal(first.Ids[i], Assert.Single(await Client.ReadAsync(prefix + i)).Id);
        }
    }

    [Fact]
    public async Task Subjects_a_path_cannot_carry_write_read_and_retract_exactly()
    {
        var failures = new List<string>();
        foreach (string subject in HardSubjects.All)
        {
            WriteResult written = await Client.WriteAsync(NewAssertion.Of(subject, "p", subject.Length));
            IReadOnlyList<AssertionView> read = await Client.ReadAsync(subject);
            if (read is not [var only] || only.Id != written.Ids[0] || only.Subject != subject)
            {
                failures.Add($"{JsonSerializer.Serialize(subject)}: read {read.Count}");
                continue;
            }

            await Client.RetractAsync(subject, only.Id);
            if ((await Client.ReadAsync(subject)).Count != 0)
            {
                failures.Add($"{JsonSerializer.Serialize(subject)}: still current after the retraction");
            }
        }

        Assert.Empty(failures);
    }

    [Fact]
    public async Task Members_and_ranges_describe_the_cluster()
    {
        IReadOnlyList<MemberDto> members = await Client.GetMembersAsync();
        Assert.Equal(["stemedb-node-1", "stemedb-node-2", "stemedb-node-3"], members.Select(m => m.Id).Order());
        Assert.All(members, m => Assert.Equal("alive", m.State));

        IReadOnlyList<RangeInfo> ranges = await Client.GetRangesAsync();
        // The ranges cover every shard exactly once, each led by one of its replicas.
        int next = 0;
        foreach (RangeInfo range in ranges.OrderBy(r => r.StartShard))
        {
            Assert.Equal(next, range.StartShard);
            Assert.Contains(range.Leader, range.Replicas);
            next = range.EndShard;
        }

        Assert.Equal(4096, next);
        Assert.True(await Client.IsReadyAsync());
    }

    [Fact]
    public async Task An_invalid_assertion_is_a_typed_error_naming_the_field()
    {
        var e = await Assert.ThrowsAsync<StemeDbInvalidInputException>(() => Client.WriteAsync(NewAssertion.Of("s", "p", 1, confidence: 2)));
        Assert.Equal(400, e.Status);
        Assert.Equal("Invalid assertion", e.Title);
        Assert.Contains(e.Errors, x => x.Field == "confidence");

        var batch = await Assert.ThrowsAsync<StemeDbInvalidInputException>(() => Client.WriteBatchAsync([NewAssertion.Of("s", "p", 1), NewAssertion.Of("", "p", 1)]));
        Assert.Contains(batch.Errors, x => x.Field == "assertions[1].subject");

        var tooMany = await Assert.ThrowsAsync<StemeDbInvalidInputException>(() => Client.WriteBatchAsync([.. Enumerable.Range(0, 1001).Select(i => NewAssertion.Of("s" + i, "p", i))]));
        Assert.Equal(413, tooMany.Status);
    }

    [Fact]
    public async Task A_bad_read_or_retraction_is_a_typed_error()
    {
        var subject = await Assert.ThrowsAsync<StemeDbInvalidInputException>(() => Client.ReadAsync(new string('x', 1025)));
        Assert.Equal("Invalid subject", subject.Title);
        var empty = await Assert.ThrowsAsync<StemeDbInvalidInputException>(() => Client.ReadAsync(""));
        Assert.Equal(400, empty.Status);
        var predicate = await Assert.ThrowsAsync<StemeDbInvalidInputException>(() => Client.ReadAsync("s", predicate: ""));
        Assert.Equal("Invalid predicate", predicate.Title);

        // An id that is not one is refused before it could name another path ("..").
        var id = await Assert.ThrowsAsync<StemeDbInvalidInputException>(() => Client.RetractAsync("s", ".."));
        Assert.Equal("Invalid id", id.Title);

        var missing = await Assert.ThrowsAsync<StemeDbNotFoundException>(() => Client.RetractAsync("nobody:" + Guid.NewGuid(), new string('a', 64)));
        Assert.Equal(404, missing.Status);
        Assert.NotNull(missing.Detail);
    }

    [Fact]
    public async Task A_gateway_that_never_answers_is_a_timeout_and_one_that_is_not_there_a_network_error()
    {
        await using var relay = new TcpRelay(cluster.Gateway) { Stall = true };
        using var stalled = new Clients(relay.Address, o =>
        {
            o.AttemptTimeout = TimeSpan.FromMilliseconds(300);
            o.TotalTimeout = TimeSpan.FromSeconds(1);
            o.MaxRetries = 1;
        });
        var e = await Assert.ThrowsAsync<StemeDbTimeoutException>(() => stalled.Client.GetMembersAsync());
        Assert.Equal(504, e.Status);

        using var nowhere = new Clients(new Uri($"http://127.0.0.1:{FreePorts.Tcp()}/"), o => o.MaxRetries = 0);
        await Assert.ThrowsAsync<HttpRequestException>(() => nowhere.Client.GetMembersAsync());
    }

    [Fact]
    public async Task The_api_key_travels_in_its_header()
    {
        await using var relay = new TcpRelay(cluster.Gateway);
        using var keyed = new Clients(relay.Address, o => o.ApiKey = "k-123");
        await keyed.Client.GetMembersAsync();
        Assert.Contains(relay.Heads, h => h.StartsWith("GET /v1/cluster/members", StringComparison.Ordinal) && h.Contains("\r\nX-Api-Key: k-123", StringComparison.OrdinalIgnoreCase));
    }
}
