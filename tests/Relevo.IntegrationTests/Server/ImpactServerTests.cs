using System.Text.Json;
using Relevo.Index;
using Relevo.Index.Impacts;
using Relevo.Search.Impacts;

namespace Relevo.IntegrationTests.Server;

/// <summary>`relevo serve` over impact indexes: bm25 scores by current BM25 impacts, a write leaves it exact until a
/// rebuild, and a pre-encoded learned sparse index is searched with pre-encoded queries (its page's default) and
/// refuses writes of text.</summary>
public sealed class ImpactServerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static IEnumerable<(string Id, float Score)> Hits(JsonElement search) =>
        search.GetProperty("hits").EnumerateArray().Select(h => (h.GetProperty("id").GetString()!, h.GetProperty("score").GetSingle()));

    private static string Pipeline(string p) => "&pipeline=" + Uri.EscapeDataString(p);

    [Fact]
    public async Task A_bm25_impact_index_is_served_and_a_write_leaves_bm25_exact()
    {
        string index = _dir["bm25"];
        TestIndexes.Write(index, TestIndexes.Small);
        using (var w = IndexWriter.Open(index))
        {
            ImpactBuilder.Build([w], ImpactModel.Bm25, 8);
            w.Commit();
        }
        await using var h = await ServerHarness.StartAsync(index);
        var quantized = Hits(await h.Search("vitamin cancer")).ToList();
        var exact = Hits(await h.Search("vitamin cancer", extra: Pipeline("bm25(impacts=false)"))).ToList();
        Assert.Equal(exact.Select(x => x.Id), quantized.Select(x => x.Id));
        Assert.All(quantized, x => Assert.Equal(MathF.Round(x.Score), x.Score)); // sums of integer impacts
        Assert.NotEqual(exact.Select(x => x.Score), quantized.Select(x => x.Score));
        Assert.Equal(quantized, Hits(await h.Search("vitamin cancer", extra: Pipeline("impact"))));

        var r = await h.PostDocuments("""[{"_id":"d9","title":"Vitamin","text":"vitamin cancer vitamin"}]""");
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        Assert.Equal(Hits(await h.Search("vitamin cancer", extra: Pipeline("bm25(impacts=false)"))), Hits(await h.Search("vitamin cancer")));
        var (status, error) = await ServerHarness.Error(await h.Client.GetAsync("/api/search?q=vitamin" + Pipeline("impact")));
        Assert.Equal(400, status);
        Assert.Contains("has no 'bm25' impacts", error);
    }

    [Fact]
    public async Task A_pre_encoded_index_is_searched_with_pre_encoded_queries_and_refuses_writes_of_text()
    {
        string corpus = _dir["v.jsonl"], index = _dir["sparse"];
        File.WriteAllText(corpus,
            "{\"id\": \"a\", \"contents\": \"first\", \"vector\": {\"x\": 3, \"##y\": 1}}\n" +
            "{\"id\": \"b\", \"contents\": \"second\", \"vector\": {\"##y\": 4}}\n" +
            "{\"id\": \"c\", \"contents\": \"third\", \"vector\": {\"z\": 2}}\n");
        var scan = VectorCorpus.Measure(corpus);
        using (var w = IndexWriter.Open(index, new IndexWriterOptions { Analyzer = "whitespace" }))
        {
            w.AddRange(VectorCorpus.Documents(corpus, scan, 8, new Queue<(int, double)>()), 1);
            w.Commit();
            ImpactBuilder.Build([w], ImpactModel.Weights, 8, default, scan.Maximum);
            w.Commit();
        }
        await using var h = await ServerHarness.StartAsync(index);
        Assert.Equal("impact", (await h.GetJson("/api/pipelines")).GetProperty("default").GetString());
        // x weighs 2 (repeated), ##y 0.5: a = 2·3 + 0.5·1 = 6.5, b = 0.5·4 = 2
        Assert.Equal([("a", 6.5f), ("b", 2f)], Hits(await h.Search("x x ##y^0.5", extra: Pipeline("impact"))));
        var (status, error) = await ServerHarness.Error(await h.PostDocuments("""[{"_id":"d","text":"x y"}]"""));
        Assert.True(status >= 400, $"{status}");
        Assert.Contains("relevo index --vectors", error);
        Assert.Equal(3, (await h.GetJson("/api/stats")).GetProperty("documents").GetInt32());
    }
}
