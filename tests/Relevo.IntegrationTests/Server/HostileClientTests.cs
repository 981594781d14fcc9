using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;

namespace Relevo.IntegrationTests.Server;

/// <summary>What an anonymous client can make the server spend: request bodies are bounded in size on every endpoint
/// (refused before reading when declared too large, JSON 413 whatever the size) and in time (read before admission,
/// so a slow body holds no place), numbers in pipelines never reach a 500, requests wait in the queue only so long,
/// and refusals say when to retry.</summary>
public sealed partial class HostileClientTests : IDisposable
{
    private readonly TempDir _dir = new();

    public HostileClientTests() => TestIndexes.Write(_dir["idx"], TestIndexes.Small);

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_body_declared_over_its_limit_is_refused_before_it_is_sent()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"]);
        // A 40 MB search body: the answer comes while only its first KiB has been sent, so the server read no more; and as
        // the body is too large even to throw away, the connection is closed.
        foreach (var (head, declared, limit) in new[]
                 {
                     ("POST /api/search HTTP/1.1\r\nContent-Type: application/json\r\n", 40_000_000L, 16384L),
                     ("GET /api/stats HTTP/1.1\r\n", 40_000_000L, 16384L), // an endpoint that takes no body
                     ($"POST /api/documents HTTP/1.1\r\nAuthorization: Bearer {ServerHarness.Key}\r\n", 200_000_000L, 32L << 20),
                 })
        {
            await using var c = await RawConnection.OpenAsync(h.BaseAddress);
            await c.SendAsync(head + $"Host: test\r\nContent-Length: {declared}\r\n\r\n{{\"q\":\"" + new string('a', 1024));
            var answer = await c.ReadAnswerAsync();
            Assert.Equal(413, answer.Status);
            Assert.Equal($"request body is {declared} bytes; the limit is {limit}", answer.Error);
            Assert.Equal("close", answer.Headers["Connection"]);
            Assert.True(await c.ClosedByServerAsync());
        }
        // A write without the key is refused before its body is read, however large it says it is.
        await using (var c = await RawConnection.OpenAsync(h.BaseAddress))
        {
            await c.SendAsync("POST /api/documents HTTP/1.1\r\nHost: test\r\nContent-Length: 30000000\r\n\r\n[");
            var answer = await c.ReadAnswerAsync();
            Assert.Equal(401, answer.Status);
        }
        Assert.Equal(["d5", "d1"], ServerHarness.Ids(await h.Search("vitamin")));
    }

    [Fact]
    public async Task A_chunked_search_body_over_its_limit_gets_a_json_413_even_far_past_kestrels_cap()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with { MaxSearchBodyBytes = 4096 });
        // Just over the limit: read to its end (and thrown away), so the client reads a clean answer.
        string body = "{\"q\":\"" + new string('a', 5000) + "\"}";
        var response = await h.Client.PostAsync("/api/search", new ChunkedContent(Encoding.UTF8.GetBytes(body)));
        var (status, error) = await ServerHarness.Error(response);
        Assert.Equal((413, "request body is larger than the limit of 4096 bytes"), (status, error));

        // Without end: Kestrel stops it at its own cap, and the answer is still the JSON 413.
        await using var c = await RawConnection.OpenAsync(h.BaseAddress);
        await c.SendAsync("POST /api/search HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
        var pump = Task.Run(() => c.PumpChunksAsync(maxBytes: 256L << 20));
        var answer = await c.ReadAnswerAsync();
        Assert.Equal((413, "request body is larger than the limit of 4096 bytes"), (answer.Status, answer.Error));
        Assert.True(await c.ClosedByServerAsync());
        Assert.True(await pump < 256L << 20, "the server read the whole endless body");

        Assert.Equal(HttpStatusCode.OK, (await h.Client.PostAsJsonAsync("/api/search", new { q = "vitamin" })).StatusCode);
    }

    [Fact]
    public async Task A_client_that_stalls_mid_body_is_cut_off_and_holds_no_place_meanwhile()
    {
        // One place and no queue: if a stalled body held the place, every other request would get 429.
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with
        {
            MaxConcurrentRequests = 1, RequestQueueLimit = 0, BodyTimeout = TimeSpan.FromSeconds(1),
        });
        foreach (var head in new[]
                 {
                     "POST /api/search HTTP/1.1\r\nContent-Type: application/json\r\n",
                     $"POST /api/documents HTTP/1.1\r\nAuthorization: Bearer {ServerHarness.Key}\r\n",
                 })
        {
            await using var c = await RawConnection.OpenAsync(h.BaseAddress);
            await c.SendAsync(head + "Host: test\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
            await c.ReadUntilAsync("100 Continue"); // the server has begun reading the body
            await c.SendAsync("{\"q\":");
            Assert.Equal(["d5", "d1"], ServerHarness.Ids(await h.Search("vitamin")));
            var answer = await c.ReadAnswerAsync();
            Assert.Equal(408, answer.Status);
            Assert.Equal("request body: not received within 1 s (5 bytes arrived); send it faster", answer.Error);
            Assert.Equal("close", answer.Headers["Connection"]);
            Assert.True(await c.ClosedByServerAsync());
        }
        Assert.Equal(5, (await h.GetJson("/api/health")).GetProperty("documents").GetInt32());
    }

    [Fact]
    public async Task A_search_body_that_is_not_json_gets_415_naming_the_type_it_needs()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"]);
        var (status, error) = await ServerHarness.Error(await h.Client.PostAsync("/api/search",
            new StringContent("{\"q\":\"vitamin\"}", Encoding.UTF8, "application/x-www-form-urlencoded")));
        Assert.Equal(415, status);
        Assert.Equal("Content-Type: POST /api/search takes a JSON body; send Content-Type: application/json " +
                     "(found 'application/x-www-form-urlencoded; charset=utf-8')", error);
        (status, error) = await ServerHarness.Error(await h.Client.PostAsync("/api/search", new ByteArrayContent("{\"q\":\"vitamin\"}"u8.ToArray())));
        Assert.Equal(415, status);
        Assert.EndsWith("(found none)", error);
        var ok = await h.Client.PostAsync("/api/search", new StringContent("{\"q\":\"vitamin\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task A_queued_request_waits_only_until_the_queue_timeout_then_gets_503_with_Retry_After()
    {
        var gate = new GateExtension();
        await using var h = await ServerHarness.StartAsync(_dir["idx"], o => o with
        {
            MaxConcurrentRequests = 1, RequestQueueLimit = 4, QueueTimeout = TimeSpan.FromSeconds(1), Extensions = [gate],
        });
        var held = h.Client.GetAsync("/api/search?q=vitamin&pipeline=" + Uri.EscapeDataString("gate>>bm25"));
        try
        {
            await gate.WaitForSearchAsync(); // it holds the one place until the gate opens
            var queued = await h.Client.GetAsync("/api/search?q=coffee").WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(TimeSpan.FromSeconds(1), queued.Headers.RetryAfter?.Delta);
            var (status, error) = await ServerHarness.Error(queued);
            Assert.Equal(503, status);
            Assert.Equal("the server is busy: no place to serve the request within 1 s (limit 1 at once); retry later", error);
        }
        finally
        {
            gate.Open();
        }
        Assert.Equal(HttpStatusCode.OK, (await held).StatusCode);
        Assert.Equal(["d3"], ServerHarness.Ids(await h.Search("coffee")));
    }

    [Theory]
    [InlineData("fuse(rrf,bm25,bm25,weights=[NaN,1])", "fuse: weights must be numbers, found 'NaN'")]
    [InlineData("fuse(rrf,bm25,bm25,weights=[1e308,1e308])", "fuse: weights must be within [-1000000, 1000000], found '1e308'")]
    [InlineData("fuse(rrf,bm25,bm25,depth=2147483647)", "fuse: depth must be at most 10000")]
    [InlineData("fuse(rrf,bm25,bm25,depth=99999999999)", "fuse: depth must be a whole number")]
    [InlineData("bm25(k1=NaN)", "bm25: k1 must be a number")]
    [InlineData("bm25(k1=Infinity)", "bm25: k1 must be a number")]
    [InlineData("ql(mu=-1)", "ql: mu must be within")]
    [InlineData("fuse(minmax,bm25,ql,alpha=1e39)", "fuse: alpha must be within [0, 1]")]
    [InlineData("bm25>>rocchio(alpha=1e300)>>bm25", "rocchio: alpha must be within")]
    public async Task Bad_numbers_in_a_pipeline_get_400_naming_the_parameter(string pipeline, string expected)
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"]);
        var (status, error) = await ServerHarness.Error(await h.Client.GetAsync(
            $"/api/search?q=vitamin&pipeline={Uri.EscapeDataString(pipeline)}"));
        Assert.Equal(400, status);
        Assert.Contains(expected, error);
    }

    [Fact]
    public async Task Weights_that_overflow_through_nested_fusions_get_400_never_a_500()
    {
        await using var h = await ServerHarness.StartAsync(_dir["idx"]);
        // Each weight is within its range, but eight nested sums multiply them past float's largest value.
        string pipeline = "bm25";
        for (int i = 0; i < 8; i++) pipeline = $"fuse(combsum,{pipeline},bm25,norm=none,weights=[1e6,1])";
        foreach (var request in new[]
                 {
                     new HttpRequestMessage(HttpMethod.Get, $"/api/search?q=vitamin&pipeline={Uri.EscapeDataString(pipeline)}"),
                     new HttpRequestMessage(HttpMethod.Post, "/api/search") { Content = JsonContent.Create(new { q = "vitamin", pipeline, explain = true }) },
                 })
        {
            var (status, error) = await ServerHarness.Error(await h.Client.SendAsync(request));
            Assert.Equal(400, status);
            Assert.Matches(NotFinite(), error);
        }
        Assert.DoesNotContain(h.Log.Events, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Error);
    }

    [GeneratedRegex(@"^pipeline: 'fuse\(combsum,.*' gives document 'd\d' the score (∞|-∞|Infinity|-Infinity|NaN), which is not a finite number; use smaller weights$")]
    private static partial Regex NotFinite();

    [Fact]
    public void Serve_checks_its_limit_options()
    {
        foreach (var (flag, value, expected) in new[]
                 {
                     ("--max-search-body-kb", "0", "--max-search-body-kb must be between 1 and 1024, found 0"),
                     ("--body-timeout", "0", "--body-timeout must be between 1 and 3600 seconds, found 0"),
                     ("--queue-timeout", "0", "--queue-timeout must be between 1 and 3600 seconds, found 0"),
                     ("--max-queue", "-1", "--max-queue must be at least 0, found -1"),
                 })
        {
            var r = CliRunner.Run(["serve", "--index", _dir["idx"], "--urls", "http://127.0.0.1:0", flag, value]);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains(expected, r.Stdout + r.Stderr);
        }
    }

    [Fact]
    public async Task Serve_applies_its_limit_options()
    {
        using var server = ServeProcess.Start(["--index", _dir["idx"], "--max-search-body-kb", "1"]);
        using var http = new HttpClient { BaseAddress = new Uri(server.Address) };
        string body = $"{{\"q\":\"{new string('a', 1000)}\",\"pipeline\":\"{new string('b', 200)}\"}}";
        var (status, error) = await ServerHarness.Error(await http.PostAsync("/api/search", new StringContent(body, Encoding.UTF8, "application/json")));
        Assert.Equal((413, $"request body is {body.Length} bytes; the limit is 1024"), (status, error));
    }
}
