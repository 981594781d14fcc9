using System.Net.Http.Json;
using System.Text.Json;
using Relevo.Server;

namespace Relevo.IntegrationTests.Server;

/// <summary>Typed fields through the HTTP API: documents written with other keys, filter= applied inside retrieval,
/// facets= counted over every matching document, sort= by a field, the typed fields in /api/stats and a document's
/// keys in /api/documents; bad filters, sorts, facets and values get 400s that say what is wrong, and a batch with a
/// bad value writes nothing.</summary>
public sealed class TypedFieldsApiTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private ServerHarness _h = null!;

    private static List<Document> Docs()
    {
        var docs = new List<Document>();
        for (int i = 0; i < 30; i++)
            docs.Add(new Document($"d{i}", $"Vitamin note {i}", $"vitamin dose {i}")
            {
                Fields = $$"""{"lang":"{{(i % 3 == 0 ? "de" : "en")}}","year":{{2000 + i}},"tags":["t{{i % 2}}","all"]}""",
            });
        docs.Add(new Document("plain", "Vitamin plain", "vitamin without keys"));
        return docs;
    }

    public async Task InitializeAsync()
    {
        TestIndexes.Write(_dir["idx"], Docs());
        _h = await ServerHarness.StartAsync(_dir["idx"]);
    }

    public async Task DisposeAsync()
    {
        await _h.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Filters_facets_and_sorting_work_over_every_matching_document()
    {
        var r = await _h.Search("vitamin", 5, "&filter=" + Uri.EscapeDataString("lang:de AND year:[2010 TO *]") + "&facets=lang,tags,year&sort=year:desc");
        Assert.Equal(["d27", "d24", "d21", "d18", "d15"], ServerHarness.Ids(r));
        Assert.Equal(6, r.GetProperty("matching").GetInt64()); // de among 2010..2029: documents 12, 15, 18, 21, 24, 27
        var lang = r.GetProperty("facets").GetProperty("lang").EnumerateArray().Select(v => (v.GetProperty("value").GetString(), v.GetProperty("count").GetInt64())).ToList();
        Assert.Equal([("de", 6L)], lang);
        var tags = r.GetProperty("facets").GetProperty("tags").EnumerateArray().Select(v => v.GetProperty("value").GetString()).ToList();
        Assert.Equal(["all", "t0", "t1"], tags); // 6, then 3 and 3 (ties by value)
        Assert.Equal(2027, r.GetProperty("hits")[0].GetProperty("fields").GetProperty("year").GetInt32());
        Assert.Equal(0, r.GetProperty("hits")[0].GetProperty("score").GetSingle());

        // without sort: the top k by score, all matching; without a filter the document without keys counts too
        var ranked = await _h.Search("vitamin", 40, "&filter=lang:en");
        Assert.Equal(20, ServerHarness.Ids(ranked).Count);
        var all = await _h.Search("vitamin", 3, "&facets=lang");
        Assert.Equal(31, all.GetProperty("matching").GetInt64());
        Assert.False(all.TryGetProperty("facets", out _) && all.GetProperty("facets").GetProperty("lang").EnumerateArray().Any(v => v.GetProperty("value").GetString() == "plain"));
        var post = await _h.Client.PostAsJsonAsync("/api/search", new { q = "vitamin", k = 2, filter = "-lang:en", sort = "year:asc" });
        var body = JsonDocument.Parse(await post.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["d0", "d3"], ServerHarness.Ids(body));

        var stats = await _h.GetJson("/api/stats");
        Assert.Equal("integer", stats.GetProperty("fields").GetProperty("year").GetString());
        var doc = await _h.GetJson("/api/documents/d4");
        Assert.Equal("en", doc.GetProperty("fields").GetProperty("lang").GetString());
    }

    /// <summary>The same documents in one index and in three shards, each served: every facet, matching count and
    /// sorted hit list the API answers is the same, and /api/stats lists the same typed fields.</summary>
    [Fact]
    public async Task A_sharded_index_answers_facets_and_sorts_as_one_index()
    {
        TestIndexes.Write(_dir["one"], Docs());
        using (var w = SearchIndex.OpenWriter(_dir["sharded"], new WriterOptions { Shards = 3 }))
        {
            w.AddRange(Docs());
            w.Commit();
        }
        await using var one = await ServerHarness.StartAsync(_dir["one"]);
        await using var sharded = await ServerHarness.StartAsync(_dir["sharded"]);
        string[] requests =
        [
            "&facets=lang,tags,year", "&facets=lang,year&filter=" + Uri.EscapeDataString("lang:de AND year:[2010 TO *]") + "&sort=year:desc",
            "&sort=year:asc", "&sort=tags:desc&facets=tags", "&sort=lang:asc&filter=-lang:en", "&facets=tags&syntax=lucene",
        ];
        foreach (var extra in requests)
            foreach (int k in new[] { 1, 5, 40 })
            {
                var a = await one.Search("vitamin", k, extra);
                var b = await sharded.Search("vitamin", k, extra);
                Assert.Equal(ServerHarness.Ids(a), ServerHarness.Ids(b));
                Assert.Equal(a.GetProperty("matching").GetInt64(), b.GetProperty("matching").GetInt64());
                Assert.Equal(a.TryGetProperty("facets", out var fa) ? fa.GetRawText() : null, b.TryGetProperty("facets", out var fb) ? fb.GetRawText() : null);
                Assert.False(b.TryGetProperty("facetsApproximate", out _));
            }
        var r = await sharded.Search("vitamin", 5, "&filter=" + Uri.EscapeDataString("lang:de AND year:[2010 TO *]") + "&facets=lang,tags,year&sort=year:desc");
        Assert.Equal(["d27", "d24", "d21", "d18", "d15"], ServerHarness.Ids(r));
        Assert.Equal(6, r.GetProperty("matching").GetInt64());
        var stats = await sharded.GetJson("/api/stats");
        Assert.Equal((await one.GetJson("/api/stats")).GetProperty("fields").GetRawText(), stats.GetProperty("fields").GetRawText());
        Assert.Equal("integer", stats.GetProperty("fields").GetProperty("year").GetString());
        var (status, error) = await ServerHarness.Error(await sharded.Client.GetAsync("/api/search?q=vitamin&sort=month:asc"));
        Assert.Equal((400, true), (status, error.StartsWith("the index has no field 'month'", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("&filter=year:%5B2010", "filter column 11: expected ']' or '}' to close the range opened at column 6")]
    [InlineData("&filter=nope:1", "filter column 1: the index has no field 'nope' (its typed fields: lang, tags, year)")]
    [InlineData("&filter=year:soon", "filter column 1: 'year' is an integer field, and 'soon' is not an integer")]
    [InlineData("&filter=title:vitamin", "filter column 1: 'title' is a text field")]
    [InlineData("&sort=year:up", "sort: 'year:up' is not field:asc or field:desc")]
    [InlineData("&sort=month:asc", "the index has no field 'month'")]
    [InlineData("&facets=a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u", "facets: at most 20 fields, found 21")]
    public async Task Bad_filters_sorts_and_facets_get_400(string extra, string expected)
    {
        var (status, error) = await ServerHarness.Error(await _h.Client.GetAsync("/api/search?q=vitamin" + extra));
        Assert.Equal(400, status);
        Assert.StartsWith(expected, error);
    }

    [Fact]
    public async Task Written_documents_keep_their_keys_and_a_bad_value_writes_nothing()
    {
        var ok = await _h.PostDocuments("""[{"_id":"n1","text":"vitamin new","lang":"fr","year":2031,"empty":{}}]""");
        Assert.True(ok.IsSuccessStatusCode, await ok.Content.ReadAsStringAsync());
        var r = await _h.Search("vitamin", 10, "&filter=lang:fr");
        Assert.Equal(["n1"], ServerHarness.Ids(r));
        var doc = await _h.GetJson("/api/documents/n1");
        Assert.Equal("""{"lang":"fr","year":2031}""", doc.GetProperty("fields").GetRawText());

        var bad = await _h.PostDocuments("""[{"_id":"n2","text":"vitamin","year":2032,"color":"red"},{"_id":"n3","text":"vitamin","year":"soon"}]""");
        var (status, error) = await ServerHarness.Error(bad);
        Assert.Equal(400, status);
        Assert.Contains("document n3: field year: expected an integer, found \"soon\"", error);
        Assert.Empty(ServerHarness.Ids(await _h.Search("vitamin", 10, "&filter=year:2032")));
        // the key the failed batch introduced was forgotten with it
        var (s2, e2) = await ServerHarness.Error(await _h.Client.GetAsync("/api/search?q=vitamin&filter=color:red"));
        Assert.Equal((400, true), (s2, e2.Contains("no field 'color'", StringComparison.Ordinal)));
        var dup = await ServerHarness.Error(await _h.PostDocuments("""[{"_id":"n4","text":"x","lang":"en","lang":"de"}]"""));
        Assert.Equal((400, "request body item 0: field \"lang\": the key appears twice in one object"), dup);
    }
}
