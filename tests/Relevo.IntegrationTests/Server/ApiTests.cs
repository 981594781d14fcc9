using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>Every endpoint against a real Kestrel on a free loopback port.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private ServerHarness _h = null!;

    public async Task InitializeAsync()
    {
        TestIndexes.Write(_dir["idx"], TestIndexes.Small);
        _h = await ServerHarness.StartAsync(_dir["idx"]);
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Health_and_stats_describe_the_index()
    {
        var health = await _h.GetJson("/api/health");
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(5, health.GetProperty("documents").GetInt32());

        await _h.Search("vitamin");
        await _h.Search("sleep");
        var stats = await _h.GetJson("/api/stats");
        Assert.Equal(5, stats.GetProperty("documents").GetInt32());
        Assert.Equal(1, stats.GetProperty("segments").GetInt32());
        Assert.True(stats.GetProperty("indexSizeBytes").GetInt64() > 0);
        Assert.Equal(2, stats.GetProperty("queriesServed").GetInt64());
        var latency = stats.GetProperty("latency");
        Assert.Equal(2, latency.GetProperty("window").GetInt32());
        Assert.True(latency.GetProperty("p99Ms").GetDouble() >= latency.GetProperty("p50Ms").GetDouble());
        Assert.Equal("bm25", stats.GetProperty("pipelines")[0].GetProperty("id").GetString());

        var pipelines = await _h.GetJson("/api/pipelines");
        Assert.Equal("bm25", pipelines.GetProperty("default").GetString());
        Assert.Single(pipelines.GetProperty("pipelines").EnumerateArray());
    }

    [Fact]
    public async Task Search_returns_ranked_hits_with_snippets_stages_and_time()
    {
        var r = await _h.Search("vitamin cancers", k: 3);
        Assert.Equal("bm25", r.GetProperty("pipeline").GetString());
        Assert.Equal(["vitamin", "cancer"], r.GetProperty("terms").EnumerateArray().Select(t => t.GetString()!).ToArray());
        Assert.True(r.GetProperty("tookMs").GetDouble() >= 0);
        var hits = r.GetProperty("hits").EnumerateArray().ToArray();
        Assert.Equal(2, hits.Length);
        Assert.Equal("d1", hits[0].GetProperty("id").GetString());
        Assert.Equal(1, hits[0].GetProperty("rank").GetInt32());
        Assert.Equal(2, hits[1].GetProperty("rank").GetInt32());
        Assert.Equal("Vitamin D and cancer", hits[0].GetProperty("title").GetString());
        float score = hits[0].GetProperty("score").GetSingle();
        Assert.True(score > hits[1].GetProperty("score").GetSingle());
        Assert.Equal(score, hits[0].GetProperty("stages").GetProperty("bm25").GetSingle());
        Assert.False(hits[0].TryGetProperty("explanation", out var ex) && ex.ValueKind != JsonValueKind.Null);

        // Highlights cover the words whose analyzed form is a query term ("cancers" for "cancer").
        string snippet = hits[0].GetProperty("snippet").GetString()!;
        var marked = hits[0].GetProperty("snippetHighlights").EnumerateArray()
            .Select(a => snippet.Substring(a[0].GetInt32(), a[1].GetInt32())).ToArray();
        Assert.Equal(["Vitamin", "cancers"], marked);
        string title = hits[0].GetProperty("title").GetString()!;
        Assert.Equal(["Vitamin", "cancer"], hits[0].GetProperty("titleHighlights").EnumerateArray()
            .Select(a => title.Substring(a[0].GetInt32(), a[1].GetInt32())).ToArray());
    }

    [Fact]
    public async Task Post_search_answers_like_get_and_pipeline_parameters_apply()
    {
        var get = await _h.Search("vitamin heart", extra: "&pipeline=" + Uri.EscapeDataString("bm25(k1=1.2,b=0.75)"));
        var post = await _h.Client.PostAsJsonAsync("/api/search", new { q = "vitamin heart", k = 10, pipeline = "bm25(k1=1.2,b=0.75)" });
        Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        var body = JsonDocument.Parse(await post.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("bm25(k1=1.2,b=0.75)", body.GetProperty("pipeline").GetString());
        Assert.Equal(ServerHarness.Ids(get), ServerHarness.Ids(body));
        var defaults = await _h.Search("vitamin heart");
        Assert.NotEqual(defaults.GetProperty("hits")[0].GetProperty("score").GetSingle(), get.GetProperty("hits")[0].GetProperty("score").GetSingle());
    }

    [Fact]
    public async Task A_fused_pipeline_reports_each_stage_score()
    {
        var r = await _h.Search("vitamin cancer", extra: "&pipeline=" + Uri.EscapeDataString("fuse(rrf, bm25, ql(mu=1000))"));
        var stages = r.GetProperty("hits")[0].GetProperty("stages");
        Assert.True(stages.EnumerateObject().Count() >= 2, stages.GetRawText());
    }

    [Fact]
    public async Task Explain_gives_term_contributions_that_add_up_to_the_score()
    {
        var r = await _h.Search("vitamin deficiency cancer", extra: "&explain=true");
        foreach (var hit in r.GetProperty("hits").EnumerateArray())
        {
            var e = hit.GetProperty("explanation");
            double sum = e.GetProperty("terms").EnumerateArray().Sum(t => t.GetProperty("score").GetDouble());
            Assert.Equal(hit.GetProperty("score").GetDouble(), sum, 4);
            Assert.Equal(hit.GetProperty("score").GetDouble(), e.GetProperty("score").GetDouble(), 5);
        }
    }

    [Fact]
    public async Task Explain_decomposes_a_fused_score_into_shares_with_each_inputs_terms()
    {
        var r = await _h.Search("vitamin deficiency cancer", extra: "&explain=true&pipeline=" + Uri.EscapeDataString("fuse(combsum,bm25,ql)"));
        foreach (var hit in r.GetProperty("hits").EnumerateArray())
        {
            var e = hit.GetProperty("explanation");
            var parts = e.GetProperty("parts").EnumerateArray().ToList();
            Assert.Equal(["bm25", "ql"], parts.Select(p => p.GetProperty("stage").GetString()));
            Assert.Equal(hit.GetProperty("score").GetDouble(), parts.Sum(p => p.GetProperty("share").GetDouble()), 4);
            foreach (var p in parts.Where(p => p.GetProperty("rank").ValueKind == JsonValueKind.Number))
            {
                var inner = p.GetProperty("explanation");
                Assert.Equal(p.GetProperty("inputScore").GetDouble(), inner.GetProperty("terms").EnumerateArray().Sum(t => t.GetProperty("score").GetDouble()), 3);
            }
        }
    }

    [Fact]
    public async Task Documents_are_read_by_id_and_missing_ones_are_404()
    {
        var d = await _h.GetJson("/api/documents/d3");
        Assert.Equal("Coffee", d.GetProperty("title").GetString());
        Assert.StartsWith("Coffee drinkers", d.GetProperty("text").GetString());
        var missing = await _h.Client.GetAsync("/api/documents/nope");
        Assert.Equal((404, "no document with _id 'nope'"), await ServerHarness.Error(missing));
    }

    [Fact]
    public async Task Writes_without_the_right_key_get_401_and_change_nothing()
    {
        var content = new StringContent("""[{"_id":"x","title":"zebra"}]""", Encoding.UTF8, "application/json");
        var none = await _h.Client.PostAsync("/api/documents", content);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("Authorization: Bearer", (await ServerHarness.Error(none)).Error);

        var wrong = new HttpRequestMessage(HttpMethod.Post, "/api/documents") { Content = content };
        wrong.Headers.Authorization = new("Bearer", "not-the-key-at-all");
        Assert.Equal((401, "wrong API key"), await ServerHarness.Error(await _h.Client.SendAsync(wrong)));

        var delete = await _h.Client.DeleteAsync("/api/documents/d1");
        Assert.Equal(HttpStatusCode.Unauthorized, delete.StatusCode);
        Assert.Empty(ServerHarness.Ids(await _h.Search("zebra")));
        Assert.Equal(5, (await _h.GetJson("/api/health")).GetProperty("documents").GetInt32());
    }

    [Fact]
    public async Task Added_documents_are_searchable_at_once_and_replace_by_id()
    {
        var r = await _h.PostDocuments("""[{"_id":"z1","title":"Zebra","text":"stripes"},{"_id":"z2","title":"","text":"zebra zebra"}]""");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, body.GetProperty("written").GetInt32());
        Assert.Equal(2, body.GetProperty("generation").GetInt64());
        Assert.Equal(["z2", "z1"], ServerHarness.Ids(await _h.Search("zebra")));

        // JSON lines; z1 is replaced (no longer about zebras), d9 is new.
        r = await _h.PostDocuments("{\"_id\":\"z1\",\"title\":\"Okapi\",\"text\":\"no stripes\"}\n\n{\"_id\":\"d9\",\"text\":\"zebra crossing\"}\n", "application/x-ndjson");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal(["z2", "d9"], ServerHarness.Ids(await _h.Search("zebra")).Order().Reverse().ToList());
        Assert.Equal("Okapi", (await _h.GetJson("/api/documents/z1")).GetProperty("title").GetString());
        Assert.Equal(8, (await _h.GetJson("/api/health")).GetProperty("documents").GetInt32());
    }

    [Fact]
    public async Task Delete_removes_a_document_and_a_missing_one_is_404()
    {
        var r = await _h.Client.SendAsync(_h.Authorized(HttpMethod.Delete, "/api/documents/d3"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Empty(ServerHarness.Ids(await _h.Search("coffee")));
        Assert.Equal(HttpStatusCode.NotFound, (await _h.Client.GetAsync("/api/documents/d3")).StatusCode);
        var again = await _h.Client.SendAsync(_h.Authorized(HttpMethod.Delete, "/api/documents/d3"));
        Assert.Equal((404, "no document with _id 'd3'"), await ServerHarness.Error(again));
    }

    [Theory]
    [InlineData("""[{"title":"no id"}]""", "request body item 0: missing field \"_id\"")]
    [InlineData("""[{"_id":"a"},{"_id":7}]""", "request body item 1: field \"_id\" must be a string, found Number")]
    [InlineData("{\"_id\":\"a\"}\n{\"_id\":\"b\",", "request body line 2: invalid JSON")]
    [InlineData("""[{"_id":"a"},{"_id":"a"}]""", "request body: _id 'a' occurs twice")]
    [InlineData("  ", "request body: empty")]
    [InlineData("""[{"_id":"a","text":["x"]}]""", "request body item 0: field \"text\" must be a string, found Array")]
    public async Task Bad_document_bodies_get_400_naming_the_item_and_field(string body, string expected)
    {
        var (status, error) = await ServerHarness.Error(await _h.PostDocuments(body));
        Assert.Equal(400, status);
        Assert.StartsWith(expected, error);
        Assert.Equal(5, (await _h.GetJson("/api/health")).GetProperty("documents").GetInt32());
    }

    [Theory]
    [InlineData("/api/search?k=5", 400, "q: the query is required")]
    [InlineData("/api/search?q=%20%20", 400, "q: empty query")]
    [InlineData("/api/search?q=a&k=0", 400, "k: must be between 1 and 1000, found 0")]
    [InlineData("/api/search?q=a&k=100000", 400, "k: must be between 1 and 1000, found 100000")]
    [InlineData("/api/search?q=a&k=ten", 400, "Failed to bind parameter")]
    [InlineData("/api/search?q=a&pipeline=bm99", 400, "pipeline syntax error at column 1:")]
    [InlineData("/api/search?q=a&pipeline=bm25(k1%3Dx)", 400, "pipeline syntax error at column 9:")]
    [InlineData("/api/search?q=a&explain=maybe", 400, "Failed to bind parameter")]
    [InlineData("/api/search?q=vitamin%20AND&syntax=lucene", 400, "query column 12: expected a term, phrase or group after 'AND'")]
    [InlineData("/api/search?q=body:vitamin&syntax=auto", 400, "query column 1: unknown field 'body'")]
    [InlineData("/api/search?q=vitamin&syntax=sql", 400, "syntax: 'sql' is not one of plain, lucene, auto")]
    [InlineData("/api/nothing-here", 404, "no such endpoint: GET /api/nothing-here")]
    public async Task Bad_requests_get_clear_4xx_errors(string path, int status, string expected)
    {
        var (s, error) = await ServerHarness.Error(await _h.Client.GetAsync(path));
        Assert.Equal(status, s);
        Assert.StartsWith(expected, error);
    }

    /// <summary>q in the Lucene syntax when asked (syntax=lucene or auto): a required word and an excluded one. Without
    /// syntax= the API reads words, as it did before, and natural text with parentheses is no error.</summary>
    [Fact]
    public async Task Search_reads_the_lucene_syntax_when_asked_and_plain_words_by_default()
    {
        foreach (string syntax in new[] { "lucene", "auto" })
        {
            var r = await _h.GetJson($"/api/search?syntax={syntax}&q=" + Uri.EscapeDataString("+vitamin -cold"));
            Assert.Equal(["d1"], r.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).ToArray());
            Assert.Equal(["vitamin"], r.GetProperty("terms").EnumerateArray().Select(t => t.GetString()!).ToArray());
        }
        var plain = await _h.GetJson("/api/search?q=" + Uri.EscapeDataString("+vitamin -cold"));
        Assert.Equal(["d5", "d1"], plain.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).ToArray());
        var natural = await _h.GetJson("/api/search?q=" + Uri.EscapeDataString("alpha (+)- vitamin 25(OH)D"));
        Assert.NotEmpty(natural.GetProperty("hits").EnumerateArray());
    }

    [Fact]
    public async Task Long_queries_and_bad_json_bodies_get_400()
    {
        var (s, e) = await ServerHarness.Error(await _h.Client.GetAsync("/api/search?q=" + new string('a', 1025)));
        Assert.Equal((400, "q: the query has 1025 characters; the limit is 1024"), (s, e));
        var bad = await _h.Client.PostAsync("/api/search", new StringContent("{\"q\":", Encoding.UTF8, "application/json"));
        (s, e) = await ServerHarness.Error(bad);
        Assert.Equal(400, s);
        Assert.Contains("as JSON", e);
    }

    [Fact]
    public async Task OpenApi_document_describes_every_endpoint()
    {
        var doc = await _h.GetJson("/openapi.json");
        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString());
        var paths = doc.GetProperty("paths");
        foreach (var (path, method) in new[]
                 {
                     ("/api/search", "get"), ("/api/search", "post"), ("/api/documents/{id}", "get"), ("/api/documents", "post"),
                     ("/api/documents/{id}", "delete"), ("/api/health", "get"), ("/api/stats", "get"), ("/api/pipelines", "get"),
                 })
            Assert.True(paths.GetProperty(path).TryGetProperty(method, out _), $"{method} {path} missing");
        Assert.True(paths.GetProperty("/api/documents").GetProperty("post").GetProperty("requestBody").GetProperty("content").TryGetProperty("application/x-ndjson", out _));
        Assert.Contains("hits", paths.GetRawText() + doc.GetProperty("components").GetRawText());
    }

    [Fact]
    public async Task Each_request_logs_one_structured_line()
    {
        while (_h.Log.Events.TryDequeue(out _)) { }
        await _h.Search("coffee");
        await _h.Client.GetAsync("/api/documents/nope");
        var lines = _h.Log.Events.Where(e => e.Category == "Relevo.Server.Requests").ToArray();
        Assert.Equal(2, lines.Length);
        var first = lines[0].State.ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal("GET", first["Method"]);
        Assert.Equal("/api/search", first["Path"]);
        Assert.Equal(200, first["Status"]);
        Assert.IsType<double>(first["ElapsedMs"]);
        Assert.Equal(404, lines[1].State.Single(kv => kv.Key == "Status").Value);
    }

    [Fact]
    public async Task The_page_is_served_with_a_strict_content_security_policy_and_no_outside_resources()
    {
        foreach (var path in new[] { "/", "/app.js", "/app.css" })
        {
            var r = await _h.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            string csp = string.Join(';', r.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("script-src 'self'", csp);
            string text = await r.Content.ReadAsStringAsync();
            Assert.DoesNotContain("http://", text);
            Assert.DoesNotContain("https://", text);
            Assert.DoesNotContain("innerHTML", text);
        }
        Assert.Contains("id=\"q\"", await _h.Client.GetStringAsync("/"));
    }
}
