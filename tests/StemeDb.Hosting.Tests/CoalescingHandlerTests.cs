using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using StemeDb.Contracts;
using StemeDb.Contracts.Wire;

namespace StemeDb.Hosting.Tests;

/// <summary>
/// The cases of <see cref="CoalescingHandler"/> a real node does not produce at will, against a scripted
/// node behind it: what waits behind the calls in flight goes as one batch, each answer arrives as its
/// line does (a slow call holds up none), a node without the batch route gets each call alone, a batch
/// refused as a whole or cut short fails each call as that node would have.
/// </summary>
public sealed class CoalescingHandlerTests
{
    private static readonly Uri Node = new("http://127.0.0.1:5001/");

    private static HttpRequestMessage Query(int i) => new(HttpMethod.Post, new Uri(Node, InternalRoutes.Query))
    {
        Content = new StringContent($"{{\"subject\":\"s{i}\"}}", Encoding.UTF8, "application/json"),
    };

    private static (HttpClient Client, ScriptedNode Node) Start()
    {
        var node = new ScriptedNode();
        return (new HttpClient(new CoalescingHandler([InternalRoutes.Query], TimeProvider.System) { InnerHandler = node }), node);
    }

    /// <summary>Sends two calls and waits until the node holds both: the handler's two slots are then taken.</summary>
    private static async Task<Task<HttpResponseMessage>[]> FillSlotsAsync(HttpClient client, ScriptedNode node)
    {
        int before = node.Singles.Count;
        node.HoldSingles = true;
        Task<HttpResponseMessage>[] first = [client.SendAsync(Query(100)), client.SendAsync(Query(101))];
        await Until(() => node.Singles.Count == before + 2, "both calls reach the node");
        return first;
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        for (int i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), what);
    }

    [Fact]
    public async Task Calls_that_wait_go_as_one_batch_and_each_is_answered_as_its_line_arrives()
    {
        (HttpClient client, ScriptedNode node) = Start();
        using (client)
        {
            node.HoldSingles = true;
            Task<HttpResponseMessage>[] first = await FillSlotsAsync(client, node);
            Task<HttpResponseMessage>[] waiting = [.. Enumerable.Range(0, 5).Select(i => client.SendAsync(Query(i)))];
            await Task.Delay(100);
            Assert.Empty(node.Batches); // nothing is sent while both slots are taken
            node.ReleaseSingles();
            Assert.All(await Task.WhenAll(first), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));

            await Until(() => node.Batches.Count == 1, "the five waiting calls go as one batch");
            ScriptedNode.Batch batch = node.Batches.Single();
            Assert.Equal(Enumerable.Range(0, 5).Select(i => $"{{\"subject\":\"s{i}\"}}"), batch.Bodies);

            // Answers out of order; the third's comes last, after the others were taken.
            foreach (int i in new[] { 4, 0, 1, 3 })
            {
                await batch.AnswerAsync(i, 200, $"[\"answer {i}\"]");
            }

            await Task.WhenAll(waiting.Where((_, i) => i != 2)).WaitAsync(TimeSpan.FromSeconds(10)); // not held up by the third
            Assert.False(waiting[2].IsCompleted, "the slow call is still out");
            await batch.AnswerAsync(2, 421, "{\"title\":\"moved\"}", "application/problem+json");
            await batch.EndAsync();
            for (int i = 0; i < 5; i++)
            {
                using HttpResponseMessage response = await waiting[i];
                Assert.Equal(i == 2 ? HttpStatusCode.MisdirectedRequest : HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(i == 2 ? "{\"title\":\"moved\"}" : $"[\"answer {i}\"]", await response.Content.ReadAsStringAsync());
                Assert.Equal("node-1", response.Headers.GetValues(InternalHeaderNames.Node).Single()); // the batch's headers
            }
        }
    }

    [Fact]
    public async Task A_node_without_the_batch_route_gets_each_call_alone_and_no_batch_for_a_while()
    {
        (HttpClient client, ScriptedNode node) = Start();
        using (client)
        {
            node.KnowsBatch = false;
            for (int round = 0; round < 2; round++)
            {
                node.HoldSingles = true;
                Task<HttpResponseMessage>[] first = await FillSlotsAsync(client, node);
                Task<HttpResponseMessage>[] waiting = [.. Enumerable.Range(0, 4).Select(i => client.SendAsync(Query(i)))];
                await Task.Delay(50);
                node.ReleaseSingles();
                HttpResponseMessage[] answers = await Task.WhenAll(waiting);
                await Task.WhenAll(first);
                Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
                Assert.Equal(Enumerable.Range(0, 4).Select(i => $"alone {{\"subject\":\"s{i}\"}}"), await Task.WhenAll(answers.Select(a => a.Content.ReadAsStringAsync())));
            }

            Assert.Equal(1, node.RefusedBatches); // the second round sent no batch
        }
    }

    [Fact]
    public async Task A_batch_refused_as_a_whole_or_cut_short_fails_each_call_as_that_node_would_have()
    {
        (HttpClient client, ScriptedNode node) = Start();
        using (client)
        {
            node.HoldSingles = true;
            node.RefuseBatchesWith = HttpStatusCode.Unauthorized;
            Task<HttpResponseMessage>[] first = await FillSlotsAsync(client, node);
            Task<HttpResponseMessage>[] refused = [.. Enumerable.Range(0, 3).Select(i => client.SendAsync(Query(i)))];
            await Task.Delay(50);
            node.ReleaseSingles();
            foreach (HttpResponseMessage r in await Task.WhenAll(refused))
            {
                Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
                Assert.Equal("{\"title\":\"no token\"}", await r.Content.ReadAsStringAsync());
            }

            await Task.WhenAll(first);
            node.RefuseBatchesWith = null;
            first = await FillSlotsAsync(client, node);
            Task<HttpResponseMessage>[] cut = [.. Enumerable.Range(0, 3).Select(i => client.SendAsync(Query(i)))];
            await Task.Delay(50);
            node.ReleaseSingles();
            await Until(() => node.Batches.Count == 1, "the batch is out");
            ScriptedNode.Batch batch = node.Batches.Single();
            await batch.AnswerAsync(1, 200, "[]");
            await batch.EndAsync(); // two calls never answered
            Assert.Equal(HttpStatusCode.OK, (await cut[1]).StatusCode);
            await Assert.ThrowsAsync<HttpRequestException>(() => cut[0]);
            await Assert.ThrowsAsync<HttpRequestException>(() => cut[2]);
        }
    }

    [Fact]
    public async Task A_batch_answered_with_no_answer_to_its_calls_fails_each_unanswered_call_as_a_broken_connection()
    {
        (HttpClient client, ScriptedNode node) = Start();
        using (client)
        {
            // A 2xx that is not a batch's 200 (something in between answered) is no answer to any call.
            node.RefuseBatchesWith = HttpStatusCode.NoContent;
            Task<HttpResponseMessage>[] first = await FillSlotsAsync(client, node);
            Task<HttpResponseMessage>[] odd = [.. Enumerable.Range(0, 3).Select(i => client.SendAsync(Query(i)))];
            await Task.Delay(50);
            node.ReleaseSingles();
            foreach (Task<HttpResponseMessage> call in odd)
            {
                await Assert.ThrowsAsync<HttpRequestException>(() => call);
            }

            // The same answer twice does not stand for another call's.
            await Task.WhenAll(first);
            node.RefuseBatchesWith = null;
            first = await FillSlotsAsync(client, node);
            Task<HttpResponseMessage>[] twice = [.. Enumerable.Range(0, 3).Select(i => client.SendAsync(Query(i)))];
            await Task.Delay(50);
            node.ReleaseSingles();
            await Until(() => node.Batches.Count == 1, "the batch is out");
            ScriptedNode.Batch batch = node.Batches.Single();
            await batch.AnswerAsync(1, 200, "[]");
            await batch.AnswerAsync(1, 200, "[]");
            await batch.AnswerAsync(0, 200, "[]");
            await batch.EndAsync();
            Assert.Equal(HttpStatusCode.OK, (await twice[1]).StatusCode);
            await Assert.ThrowsAsync<HttpRequestException>(() => twice[2]);
        }
    }

    [Fact]
    public async Task An_answer_that_comes_after_its_caller_gave_up_is_disposed()
    {
        (HttpClient client, ScriptedNode node) = Start();
        using (client)
        {
            // The node answers even though the call was cancelled (as one whose answer was already on its way).
            node.IgnoreCancellation = true;
            node.HoldSingles = true;
            using var giveUp = new CancellationTokenSource();
            Task<HttpResponseMessage> abandoned = client.SendAsync(Query(0), giveUp.Token);
            await Until(() => node.Singles.Count == 1, "the call reaches the node");
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
            node.ReleaseSingles();
            await Until(() => node.Answered.Count == 1, "the node answers");
            await Until(() => node.Answered.Single().Disposed, "the answer no one awaits is disposed (its connection goes back)");
        }
    }

    [Fact]
    public async Task A_call_whose_caller_gave_up_while_it_waited_is_not_sent()
    {
        (HttpClient client, ScriptedNode node) = Start();
        using (client)
        {
            node.HoldSingles = true;
            Task<HttpResponseMessage>[] first = await FillSlotsAsync(client, node);
            using var giveUp = new CancellationTokenSource();
            Task<HttpResponseMessage> abandoned = client.SendAsync(Query(0), giveUp.Token);
            Task<HttpResponseMessage> kept = client.SendAsync(Query(1));
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
            node.ReleaseSingles();
            await Task.WhenAll(first);
            Assert.Equal("alone {\"subject\":\"s1\"}", await (await kept).Content.ReadAsStringAsync());
            Assert.Empty(node.Batches); // one call left to send: alone
            Assert.DoesNotContain("{\"subject\":\"s0\"}", node.Singles);
        }
    }

    /// <summary>A node as the handler sees it: calls alone answered with their body, batches answered line by line as the test says.</summary>
    private sealed class ScriptedNode : HttpMessageHandler
    {
        private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool HoldSingles;

        public volatile bool KnowsBatch = true;

        public volatile bool IgnoreCancellation;

        public ConcurrentQueue<TrackedContent> Answered { get; } = new();

        public HttpStatusCode? RefuseBatchesWith;

        public ConcurrentQueue<string> Singles { get; } = new();

        public ConcurrentQueue<Batch> Batches { get; } = new();

        public int RefusedBatches;

        public void ReleaseSingles()
        {
            HoldSingles = false;
            _release.TrySetResult();
            _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string body = await request.Content!.ReadAsStringAsync(cancellationToken);
            var response = new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request };
            response.Headers.Add(InternalHeaderNames.Node, "node-1");
            if (request.RequestUri!.AbsolutePath != InternalRoutes.Batch)
            {
                Singles.Enqueue(body);
                if (HoldSingles)
                {
                    await _release.Task.WaitAsync(IgnoreCancellation ? CancellationToken.None : cancellationToken);
                }

                var content = new TrackedContent("alone " + body);
                Answered.Enqueue(content);
                response.Content = content;
                return response;
            }

            if (!KnowsBatch || RefuseBatchesWith is not null)
            {
                Interlocked.Increment(ref RefusedBatches);
                response.StatusCode = KnowsBatch ? RefuseBatchesWith!.Value : HttpStatusCode.NotFound;
                response.Content = new StringContent("{\"title\":\"no token\"}", Encoding.UTF8, "application/problem+json");
                response.Content.Headers.ContentType!.CharSet = null;
                return response;
            }

            using JsonDocument calls = JsonDocument.Parse(body);
            var batch = new Batch([.. calls.RootElement.GetProperty("calls").EnumerateArray().Select(c => c.GetProperty("body").GetRawText())]);
            response.Content = new StreamContent(batch.Lines.Reader.AsStream());
            response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(BatchAnswer.StreamContentType);
            Batches.Enqueue(batch);
            return response;
        }

        /// <summary>A body that knows whether it was disposed.</summary>
        public sealed class TrackedContent(string text) : HttpContent
        {
            private readonly byte[] _bytes = Encoding.UTF8.GetBytes(text);

            public bool Disposed { get; private set; }

            protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

            protected override bool TryComputeLength(out long length)
            {
                length = _bytes.Length;
                return true;
            }

            protected override void Dispose(bool disposing)
            {
                Disposed = true;
                base.Dispose(disposing);
            }
        }

        public sealed class Batch(List<string> bodies)
        {
            public List<string> Bodies { get; } = bodies;

            public Pipe Lines { get; } = new();

            public async Task AnswerAsync(int index, int status, string json, string contentType = "application/json")
            {
                using var writer = new Utf8JsonWriter(Lines.Writer);
                new BatchAnswer(index, status, contentType, Encoding.UTF8.GetBytes(json)).WriteLine(writer, Lines.Writer);
                await Lines.Writer.FlushAsync();
            }

            public Task EndAsync() => Lines.Writer.CompleteAsync().AsTask();
        }
    }
}
