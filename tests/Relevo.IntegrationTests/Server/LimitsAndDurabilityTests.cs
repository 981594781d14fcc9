using System.Net;
using System.Text;
using Relevo.Index;

using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>Body size and concurrency limits, read-only servers, durability across a restart, and searches that run
/// while documents are written.</summary>
public sealed class LimitsAndDurabilityTests : IDisposable
{
    private readonly TempDir _dir = new();

    public LimitsAndDurabilityTests() => TestIndexes.Write(_dir["idx"], TestIndexes.Small);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_body_over_the_limit_gets_413_whether_its_length_is_declared_or_not()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { MaxBodyBytes = 2048 });
        string big = "[" + string.Join(',', Enumerable.Range(0, 100).Select(i => $"{{\"_id\":\"b{i}\",\"text\":\"padding text\"}}")) + "]";
        var (status, error) = await ServerHarness.Error(await h.PostDocuments(big));
        Assert.Equal(413, status);
        Assert.Contains("the limit is 2048", error);

        // Chunked: no Content-Length, so Kestrel stops the read at the limit.
        var chunked = new ChunkedContent(Encoding.UTF8.GetBytes(big));
        (status, error) = await ServerHarness.Error(await h.Client.SendAsync(h.Authorized(HttpMethod.Post, "/api/documents", chunked)));
        Assert.Equal(413, status);
        Assert.Contains("larger than the limit of 2048 bytes", error);
        Assert.Equal(5, (await h.GetJson("/api/health")).GetProperty("documents").GetInt32());
    }

    [Fact]
    public async Task Requests_beyond_the_concurrency_limit_get_429()
    {
        var gate = new GateExtension();
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { MaxConcurrentRequests = 1, RequestQueueLimit = 0, Extensions = [gate] });
        // A search held inside its pipeline keeps the one place until the gate opens (a slow body would not: bodies are
        // read before a request takes a place).
        var pending = h.Client.GetAsync("/api/search?q=vitamin&pipeline=" + Uri.EscapeDataString("gate>>bm25"));
        try
        {
            await gate.WaitForSearchAsync();
            var response = await h.Client.GetAsync("/api/search?q=vitamin");
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
            var (status, error) = await ServerHarness.Error(response);
            Assert.Equal(429, status);
            Assert.Contains("too many concurrent requests", error);
            // Health is never limited: a load balancer must reach it.
            Assert.Equal(HttpStatusCode.OK, (await h.Client.GetAsync("/api/health")).StatusCode);
        }
        finally
        {
            gate.Open();
        }
        Assert.Equal(HttpStatusCode.OK, (await pending).StatusCode);
        Assert.Equal(["d5", "d1"], ServerHarness.Ids(await h.Search("vitamin")));
    }

    [Fact]
    public async Task A_server_without_an_api_key_is_read_only_and_holds_no_lock()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"], withKey: false);
        var (status, error) = await ServerHarness.Error(await h.PostDocuments("[{\"_id\":\"x\"}]"));
        Assert.Equal(403, status);
        Assert.Contains("read-only", error);
        Assert.Equal(5, ServerHarness.Ids(await h.Search("vitamin sleep coffee heart")).Count);
        using var writer = IndexWriter.Open(_dir["idx"]); // no lock held by the server
    }

    [Fact]
    public async Task A_write_answered_200_survives_a_restart()
    {
        await using (var h = await ServerHarness.StartAsync(_dir["idx"]))
        {
            Assert.Equal(HttpStatusCode.OK, (await h.PostDocuments("""[{"_id":"p1","title":"Persistent zebra","text":"kept"}]""")).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await h.Client.SendAsync(h.Authorized(HttpMethod.Delete, "/api/documents/d2"))).StatusCode);
        }
        await using (var h = await ServerHarness.StartAsync(_dir["idx"]))
        {
            Assert.Equal(["p1"], ServerHarness.Ids(await h.Search("zebra")));
            Assert.Equal("Persistent zebra", (await h.GetJson("/api/documents/p1")).GetProperty("title").GetString());
            Assert.Equal(HttpStatusCode.NotFound, (await h.Client.GetAsync("/api/documents/d2")).StatusCode);
            Assert.Equal(5, (await h.GetJson("/api/health")).GetProperty("documents").GetInt32());
        }
        using var reader = IndexReader.Open(_dir["idx"]);
        Assert.NotNull(reader.GetDocument("p1"));
    }

    [Fact]
    public async Task A_second_server_with_a_key_on_the_same_index_is_refused_clearly()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"]);
        var e = await Assert.ThrowsAsync<RelevoException>(() => ServerHarness.StartAsync(_dir["idx"]));
        Assert.Contains("another writer holds the index lock", e.Message);
        var missing = await Assert.ThrowsAsync<RelevoException>(() => ServerHarness.StartAsync(_dir["nothing"]));
        Assert.Contains("no such index folder", missing.Message);
    }

    [Fact]
    public async Task Searches_during_writes_see_whole_commits_only()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"]);
        const int batches = 12, perBatch = 10;
        using var stop = new CancellationTokenSource();
        var errors = new System.Collections.Concurrent.ConcurrentBag<string>();
        long searches = 0;
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            var rng = new Random();
            while (!stop.IsCancellationRequested)
            {
                int b = rng.Next(batches);
                var ids = ServerHarness.Ids(await h.Search($"marker{b}", k: 100));
                Interlocked.Increment(ref searches);
                // A batch is one commit: a search sees all of it or none of it.
                if (ids.Count != 0 && ids.Count != perBatch) errors.Add($"batch {b}: {ids.Count} of {perBatch} visible");
            }
        })).ToArray();
        for (int b = 0; b < batches; b++)
        {
            var docs = Enumerable.Range(0, perBatch).Select(i => $"{{\"_id\":\"m{b}-{i}\",\"text\":\"marker{b} document {i}\"}}");
            var r = await h.PostDocuments("[" + string.Join(',', docs) + "]");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            // Visible to the very next search.
            Assert.Equal(perBatch, ServerHarness.Ids(await h.Search($"marker{b}", k: 100)).Count);
        }
        // Replace and delete while searching, too.
        Assert.Equal(HttpStatusCode.OK, (await h.Client.SendAsync(h.Authorized(HttpMethod.Delete, "/api/documents/d1"))).StatusCode);
        stop.Cancel();
        await Task.WhenAll(readers);
        Assert.Empty(errors);
        Assert.True(searches > 0);
        Assert.Equal(5 - 1 + batches * perBatch, (await h.GetJson("/api/stats")).GetProperty("documents").GetInt32());
    }
}
