using System.Globalization;
using Relevo.Analysis;
using Relevo.Collections;
using Relevo.Search;
using Relevo.Sharding;
using Relevo.Tests.Search;
using Xunit.Abstractions;

namespace Relevo.Tests.Sharding;

/// <summary>Cranfield with generated typed keys (FilterTests.Gen: integer year, keyword lang, float score, date,
/// boolean open, keyword array tags on a third of the documents) in one index and in three shards, with the same
/// deletions, replacements and a later batch: facets, matching counts and sorted hits equal one index's, for plain
/// and Lucene-syntax queries, with and without filters.</summary>
public sealed class ShardedFacetFixture : IDisposable
{
    private readonly TempDir _tmp = new();

    public ShardedFacetFixture()
    {
        var ds = TestData.Dataset("cranfield");
        string corpus = FilterTests.TypedCorpus(ds.CorpusPath, _tmp.Path);
        using (var w = SearchIndex.OpenWriter(_tmp["one"])) Write(w, corpus);
        using (var w = SearchIndex.OpenWriter(_tmp["sharded"], new WriterOptions { Shards = 3 })) Write(w, corpus);
        One = SearchIndex.Open(_tmp["one"]);
        Sharded = SearchIndex.Open(_tmp["sharded"]);
        Queries = JsonlReader.ReadQueries(ds.QueriesPath).Take(12).Select(q => q.Text).ToList();
        ShardedDir = _tmp["sharded"];
    }

    /// <summary>The corpus, then deletions, replacements (a replaced document is numbered anew, as it gets a new
    /// ordinal on shards) and new documents in a second commit.</summary>
    private static void Write(DocumentWriter w, string corpus)
    {
        w.AddCorpus(corpus);
        w.Commit();
        for (int n = 3; n <= 1400; n += 29) Assert.True(w.Delete(n.ToString(CultureInfo.InvariantCulture)));
        for (int n = 10; n <= 1400; n += 97)
        {
            w.Delete(n.ToString(CultureInfo.InvariantCulture));
            w.Add(new Document(n.ToString(CultureInfo.InvariantCulture), "replaced wing", "flow over a wing, replaced")
            {
                Fields = FilterTests.Gen.Of(n + 7).Json(),
            });
        }
        for (int n = 2000; n < 2060; n++)
            w.Add(new Document(n.ToString(CultureInfo.InvariantCulture), "late wing", $"boundary layer flow {n}") { Fields = FilterTests.Gen.Of(n).Json() });
        w.Commit();
    }

    public SearchIndex One { get; }
    public SearchIndex Sharded { get; }
    public List<string> Queries { get; }
    public string ShardedDir { get; }

    public void Dispose()
    {
        One.Dispose();
        Sharded.Dispose();
        _tmp.Dispose();
    }
}

public sealed class ShardedFacetTests(ShardedFacetFixture data, ITestOutputHelper output) : IClassFixture<ShardedFacetFixture>
{
    private static readonly string[] Fields = ["year", "lang", "score", "date", "open", "tags"];
    private static readonly string?[] Filters = [null, "lang:en", "year:[1955 TO 1960]", "-open:true"];

    /// <summary>Lucene-syntax queries: required and excluded words, a boost, typed clauses, and one of only a stop word
    /// (every clause analysed to nothing: it matches nothing).</summary>
    private static readonly string[] LuceneQueries =
    [
        "+wing +flow", "boundary AND layer", "(heat OR transfer) -wing", "wing^2 flow", "wing lang:en",
        "+flow year:[1955 TO 1960]", "wing NOT (heat OR lang:de)", "the",
    ];

    private IEnumerable<(string Query, QuerySyntax Syntax)> AllQueries() =>
        data.Queries.Select(q => (q, QuerySyntax.Plain)).Concat(LuceneQueries.Select(q => (q, QuerySyntax.Lucene)));

    [Fact]
    public void FacetsAndMatchingEqualOneIndex()
    {
        int compared = 0, cut = 0;
        foreach (var (query, syntax) in AllQueries())
            foreach (var filter in Filters)
                foreach (int size in new[] { 10, 3 })
                {
                    var options = new SearchOptions { Syntax = syntax, Filter = filter, Facets = Fields, FacetSize = size };
                    var one = data.One.Search(query, "bm25", 10, options);
                    var sharded = data.Sharded.Search(query, "bm25", 10, options);
                    string where = $"{syntax} '{query}' filter '{filter}' size {size}";
                    Assert.True(one.Matching == sharded.Matching, $"{where}: matching {one.Matching} vs {sharded.Matching}");
                    Assert.Null(sharded.ApproximateFacets);
                    foreach (var field in Fields)
                    {
                        Assert.True(one.Facets![field].SequenceEqual(sharded.Facets![field]),
                            $"{where}, {field}: [{Show(one.Facets[field])}] vs [{Show(sharded.Facets[field])}]");
                        if (one.Facets[field].Count == size) cut++;
                    }
                    Assert.Equal(one.Hits.Select(h => (h.Id, h.Score)), sharded.Hits.Select(h => (h.Id, h.Score)));
                    compared++;
                }
        output.WriteLine($"{compared} searches compared, {cut} facets cut at their size");
        Assert.True(cut > 100, "too few facets were cut at their size to test the order of ties");
        // the counts are right, not only alike: "wing" among the one index's documents by an independent count
        var wing = data.One.Search("wing", "bm25", 10, new SearchOptions { Facets = ["open"] });
        Assert.Equal(wing.Matching, wing.Facets!["open"].Sum(v => v.Count));
        Assert.Equal(0, data.Sharded.Search("the", "bm25", 10, new SearchOptions { Syntax = QuerySyntax.Lucene, Facets = ["lang"] }).Matching);
    }

    [Fact]
    public void SortedHitsEqualOneIndex()
    {
        int compared = 0, tiedAtTheCut = 0;
        foreach (var (query, syntax) in AllQueries())
            foreach (var filter in Filters)
                foreach (var field in Fields)
                    foreach (var order in new[] { "asc", "desc" })
                        foreach (int k in new[] { 1, 10, 100 })
                        {
                            var options = new SearchOptions { Syntax = syntax, Filter = filter, Sort = $"{field}:{order}" };
                            var one = data.One.Search(query, "bm25", k, options);
                            var sharded = data.Sharded.Search(query, "bm25", k, options);
                            string where = $"{syntax} '{query}' filter '{filter}' sort {field}:{order} k {k}";
                            Assert.True(one.Matching == sharded.Matching, $"{where}: matching {one.Matching} vs {sharded.Matching}");
                            Assert.True(one.Hits.Select(h => (h.Id, h.Score)).SequenceEqual(sharded.Hits.Select(h => (h.Id, h.Score))),
                                $"{where}: {string.Join(",", one.Hits.Select(h => h.Id))} vs {string.Join(",", sharded.Hits.Select(h => h.Id))}");
                            Assert.Equal(Math.Min(k, one.Matching!.Value), sharded.Hits.Count);
                            if (one.Matching > k) tiedAtTheCut++;
                            compared++;
                        }
        output.WriteLine($"{compared} sorted searches compared ({tiedAtTheCut} cut at k)");
        Assert.True(tiedAtTheCut > 500);
        // the order itself: years ascending, documents without tags last, ties in the order documents were added
        var byYear = data.Sharded.Search("wing", "bm25", 100, new SearchOptions { Sort = "year:asc" });
        var years = byYear.Hits.Select(h => FilterTests.Gen.Of(Number(h.Id)).Year).ToList();
        Assert.Equal(years.Order(), years);
        var byTags = data.Sharded.Search("wing", "bm25", 1000, new SearchOptions { Sort = "tags:desc" });
        var hasTags = byTags.Hits.Select(h => FilterTests.Gen.Of(Number(h.Id)).Tags.Length > 0).ToList();
        Assert.Equal(hasTags.OrderDescending(), hasTags);
    }

    /// <summary>A replaced document's values come from its replacement (Gen of n + 7), else from n.</summary>
    private static int Number(string id)
    {
        int n = int.Parse(id, CultureInfo.InvariantCulture);
        return n is >= 10 and <= 1400 && (n - 10) % 97 == 0 ? n + 7 : n;
    }

    /// <summary>A shard that has more distinct values of a field than the cap sends its most frequent ones, and the
    /// facet is reported approximate; under the cap the counts are exact; errors read as on one index; the typed
    /// fields are the one index's; a cancelled search stops.</summary>
    [Fact]
    public async Task CapErrorsSchemaAndCancellation()
    {
        var local = new LocalShards(data.ShardedDir, ExtensionRegistry.Core);
        using (local)
        {
            var analyzer = Analyzer.Create(local.Analyzer);
            var query = Query.Parse("wing flow", analyzer);
            var exact = await new ShardedTarget(local.Shards, analyzer, new GlobalStatisticsCache())
                .MatchAsync(query, null, ["year", "open"], 5, null, false, 10, default);
            var capped = await new ShardedTarget(local.Shards, analyzer, new GlobalStatisticsCache()) { FacetCap = 3 }
                .MatchAsync(query, null, ["year", "open"], 5, null, false, 10, default);
            Assert.Null(exact.Approximate);
            Assert.Equal(["year"], capped.Approximate!); // 20 years, 2 values of open
            Assert.Equal(exact.Facets!["open"], capped.Facets!["open"]);
            Assert.Equal(exact.Count, capped.Count);
            // each shard sent its 3 most frequent years: the counts summed are at most the exact ones
            var all = data.One.Search("wing flow", "bm25", 10, new SearchOptions { Facets = ["year"], FacetSize = 100 }).Facets!["year"].ToDictionary(v => v.Value, v => v.Count);
            foreach (var (year, count) in capped.Facets["year"]) Assert.True(count <= all[year]);
            Assert.NotEqual(exact.Facets["year"], capped.Facets["year"]);
            var one = data.One.Search("wing flow", "bm25", 10, new SearchOptions { Facets = ["year"], FacetSize = 5 });
            Assert.Equal(one.Facets!["year"], exact.Facets["year"]);

            // the caller's cancellation reaches the coordinator and each shard
            using var cancelled = new CancellationTokenSource();
            await cancelled.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                await new ShardedTarget(local.Shards, analyzer, new GlobalStatisticsCache()).MatchAsync(query, null, ["year"], 5, null, false, 10, cancelled.Token));
            var request = new ShardMatch(ShardVersion.Latest, ["wing"], [1], null, null, ["year"], 10, "year", false, 10);
            Assert.ThrowsAny<OperationCanceledException>(() => ((ShardHost)local.Shards[0]).Match(request, cancelled.Token));
            Assert.True(((ShardHost)local.Shards[0]).Match(request, default).Count > 0);
        }

        foreach (var options in new[] { new SearchOptions { Facets = ["nope"] }, new SearchOptions { Sort = "nope:asc" } })
        {
            var a = Assert.Throws<RelevoException>(() => data.One.Search("wing", "bm25", 10, options));
            var b = Assert.Throws<RelevoException>(() => data.Sharded.Search("wing", "bm25", 10, options));
            Assert.Equal(a.Message, b.Message);
            Assert.Contains("no field 'nope'", b.Message);
        }
        var oneFields = await data.One.TypedFieldsAsync();
        var shardedFields = await data.Sharded.TypedFieldsAsync();
        Assert.NotNull(oneFields);
        Assert.NotNull(shardedFields);
        Assert.Equal(oneFields.OrderBy(f => f.Key, StringComparer.Ordinal), shardedFields.OrderBy(f => f.Key, StringComparer.Ordinal));
        Assert.Equal("float", shardedFields["score"]);
    }

    private static string Show(IEnumerable<(string Value, long Count)> values) => string.Join(", ", values.Select(v => $"{v.Value}:{v.Count}"));
}
