using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Relevo.Cluster;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>Every shard message through Orleans' generated serializers and back, with every field (the records live
/// in the core; their surrogates in Relevo.Cluster).</summary>
public sealed class ShardSerializationTests
{
    private static readonly Serializer Orleans = Services();

    private static Serializer Services()
    {
        var services = new ServiceCollection();
        ClusterHosting.AddRelevoSerialization(services);
        return services.BuildServiceProvider().GetRequiredService<Serializer>();
    }

    private static T RoundTrip<T>(T value) => Orleans.Deserialize<T>(Orleans.SerializeToArray(value))!;

    /// <summary>Relevo's errors cross processes as themselves (a caller does not retry a bad request, and asks another
    /// copy when a copy is unavailable); without the namespace registered Orleans sends them as a codec failure.</summary>
    [Fact]
    public void RelevoErrorsKeepTheirTypeAndMessage()
    {
        var bad = RoundTrip<Exception>(new RelevoException("shard query: 'x' is not a retriever"));
        Assert.IsType<RelevoException>(bad);
        Assert.Equal("shard query: 'x' is not a retriever", bad.Message);
        var corrupt = RoundTrip<Exception>(new Relevo.Index.Formats.CorruptIndexException("/data/x/manifest", "checksum mismatch"));
        Assert.IsAssignableFrom<RelevoException>(corrupt);
        var gone = RoundTrip<Exception>(new ShardCopyUnavailableException("node n1 holds no copy of shard 2"));
        Assert.IsType<ShardCopyUnavailableException>(gone);
        Assert.Equal("node n1 holds no copy of shard 2", gone.Message);

        // the node messages the writer and the nodes exchange
        var files = RoundTrip(NodeFiles.Of([new ShardFile("_0.post", 12), new ShardFile("ord_0", 8)]));
        Assert.Equal([new ShardFile("_0.post", 12), new ShardFile("ord_0", 8)], files.ToFiles());
        var routing = RoundTrip(new ClusterRouting { Version = 9, Shards = 2, Analyzer = "english", Copies = [["n1", "n2"], ["n2", "n3"]] });
        Assert.Equal((9L, 2, "english"), (routing.Version, routing.Shards, routing.Analyzer));
        Assert.Equal(["n2", "n3"], routing.Copies![1]);
        var published = RoundTrip(new NodePublished { Accepted = false, Version = 4, Incomplete = [1, 3] });
        Assert.Equal((false, 4L), (published.Accepted, published.Version));
        Assert.Equal([1, 3], published.Incomplete);
    }

    [Fact]
    public void SearchMessagesKeepEveryField()
    {
        var stats = new ShardStatistics(7, 100, 4000, [3, 0], [5, 0]) { LiveDocs = 98 };
        var s = RoundTrip(stats);
        Assert.Equal((7L, 100L, 4000L, 98), (s.Version, s.DocCount, s.SumTotalTermFreq, s.LiveDocs));
        Assert.Equal(stats.DocFreqs, s.DocFreqs);
        Assert.Equal(stats.TotalTermFreqs, s.TotalTermFreqs);

        var global = new GlobalStatistics(400, 16000, ["vitamin", "d"], [12, 40], [20, 90]);
        var query = new ShardRetrieval(7, Guid.NewGuid(), "bm25(k1=0.9,b=0.4)", ["vitamin", "d"], [1, 2], [0.5f, -0.25f], global, 10,
            float.NegativeInfinity);
        var q = RoundTrip(query);
        Assert.Equal((query.Version, query.QueryId, query.Retriever, query.K, query.Floor), (q.Version, q.QueryId, q.Retriever, q.K, q.Floor));
        Assert.Equal(query.Terms, q.Terms);
        Assert.Equal(query.Weights, q.Weights);
        Assert.Equal(query.Vector, q.Vector);
        Assert.Equal(global.Terms, q.Statistics!.Terms);
        Assert.Equal(global.DocFreqs, q.Statistics.DocFreqs);
        Assert.Equal(global.TotalTermFreqs, q.Statistics.TotalTermFreqs);
        Assert.Equal((400L, 16000L), (q.Statistics.DocCount, q.Statistics.SumTotalTermFreq));
        Assert.Null(RoundTrip(query with { Vector = null, Statistics = null }).Statistics);
        var typed = RoundTrip(query with { Filter = "year:[2015 TO 2020] AND lang:en", Structured = "+vitamin title:d" });
        Assert.Equal(("year:[2015 TO 2020] AND lang:en", "+vitamin title:d"), (typed.Filter, typed.Structured));
        Assert.Equal((null, null), (q.Filter, q.Structured));

        var hits = new ShardHits(7, ["a", "b"], [2.5f, 1], [4, 9], [40, 90]);
        var h = RoundTrip(hits);
        Assert.Equal(hits.Ids, h.Ids);
        Assert.Equal(hits.Scores, h.Scores);
        Assert.Equal(hits.Docs, h.Docs);
        Assert.Equal(hits.Ordinals, h.Ordinals);

        var fetched = RoundTrip(new ShardFetched(7, [[1, 2, 3], null]));
        Assert.Equal([1, 2, 3], fetched.Results[0]);
        Assert.Null(fetched.Results[1]);
        var fetch = RoundTrip(new ShardFetch(7, "vector", "arctic-xs", [1, 5]));
        Assert.Equal(("vector", "arctic-xs", 7L), (fetch.Operation, fetch.Argument, fetch.Version));
        Assert.Equal([1, 5], fetch.Docs);
    }

    [Fact]
    public void FacetAndSortMessagesKeepEveryField()
    {
        var match = new ShardMatch(7, ["vitamin", "d"], [1, 2], "+vitamin lang:en", "year:[2015 TO 2020]", ["lang", "year"], 10_000, "year", true, 100);
        var m = RoundTrip(match);
        Assert.Equal((7L, "+vitamin lang:en", "year:[2015 TO 2020]", 10_000, "year", true, 100),
            (m.Version, m.Structured, m.Filter, m.FacetCap, m.Sort, m.Descending, m.K));
        Assert.Equal(match.Terms, m.Terms);
        Assert.Equal(match.Weights, m.Weights);
        Assert.Equal(match.Facets, m.Facets);
        var plain = RoundTrip(match with { Structured = null, Filter = null, Sort = null, Descending = false, Facets = [] });
        Assert.Equal((null, null, null, false), (plain.Structured, plain.Filter, plain.Sort, plain.Descending));
        Assert.Empty(plain.Facets);
        Assert.Equal("", RoundTrip(match with { Structured = "" }).Structured); // a query that analysed to nothing stays one

        var matched = new ShardMatched(7, 1234,
            [
                new ShardFacet("lang", "keyword", ["en", "de"], null, [900, 300], false),
                new ShardFacet("year", "integer", null, [2016, 2015], [40, 12], true),
                new ShardFacet("nope", null, null, null, [], false),
            ],
            new ShardSorted("keyword", ["a", "b", "c"], [4, 9, 2], [40, 90, 20], 2, null, ["zeta", "alpha"]));
        var r = RoundTrip(matched);
        Assert.Equal((7L, 1234L), (r.Version, r.Count));
        Assert.Equal(3, r.Facets.Length);
        Assert.Equal(("lang", "keyword", false), (r.Facets[0].Field, r.Facets[0].Type, r.Facets[0].Capped));
        Assert.Equal(["en", "de"], r.Facets[0].Words!);
        Assert.Null(r.Facets[0].Numbers);
        Assert.Equal([900L, 300L], r.Facets[0].Counts);
        Assert.Equal(("year", "integer", true), (r.Facets[1].Field, r.Facets[1].Type, r.Facets[1].Capped));
        Assert.Equal([2016L, 2015L], r.Facets[1].Numbers!);
        Assert.Null(r.Facets[1].Words);
        Assert.Equal([40L, 12L], r.Facets[1].Counts);
        Assert.Null(r.Facets[2].Type);
        Assert.Empty(r.Facets[2].Counts);
        var sorted = r.Sorted!;
        Assert.Equal(("keyword", 2), (sorted.Type, sorted.Valued));
        Assert.Equal(["a", "b", "c"], sorted.Ids);
        Assert.Equal([4, 9, 2], sorted.Docs);
        Assert.Equal([40L, 90L, 20L], sorted.Ordinals);
        Assert.Equal(["zeta", "alpha"], sorted.Words!);
        Assert.Null(sorted.Keys);
        var numeric = RoundTrip(matched with { Sorted = new ShardSorted("date", ["x"], [1], [5], 1, [-86_400_000], null) }).Sorted!;
        Assert.Equal([-86_400_000L], numeric.Keys!);
        Assert.Null(numeric.Words);
        Assert.Null(RoundTrip(matched with { Sorted = null }).Sorted);
        Assert.Null(RoundTrip(new ShardSorted(null, [], [], [], 0, null, null)).Type);

        var (version, schema) = RoundTrip<(long, Dictionary<string, string>?)>((7, new Dictionary<string, string> { ["year"] = "integer", ["lang"] = "keyword" }));
        Assert.Equal(7, version);
        Assert.Equal("keyword", schema!["lang"]);
        Assert.Null(RoundTrip<(long, Dictionary<string, string>?)>((7, null)).Item2);
    }

    [Fact]
    public void DocumentsAndCommitsKeepEveryField()
    {
        var plain = RoundTrip(new Document("d1", "Title", "Text"));
        Assert.Equal(new Document("d1", "Title", "Text"), plain);
        Assert.Null(plain.TermWeights);
        var weighted = RoundTrip(new Document("d2", "", "") { TermWeights = [("vitamin", 12), ("d", 3)] });
        Assert.Equal([("vitamin", 12), ("d", 3)], weighted.TermWeights!);
        Assert.Equal("""{"year":2016,"lang":"en"}""", RoundTrip(new Document("d3", "t", "x") { Fields = """{"year":2016,"lang":"en"}""" }).Fields);
        var docs = RoundTrip(new Document?[] { new("x", "t", "y"), null });
        Assert.Equal("x", docs[0]!.Id);
        Assert.Null(docs[1]);

        var commit = new Manifest(Manifest.CurrentFormat, 5, "english", 3,
            [new SegmentEntry("_0", 10, 200, 10, 50, 2, 1) { Components = [new ComponentData("vectors", "arctic-xs", ["_0.arctic-xs.vec"])] }])
        {
            Schema = new Dictionary<string, string> { ["year"] = "integer" },
        };
        var prepared = RoundTrip(new ShardPrepared(commit, 4));
        Assert.Equal(4, prepared.Changes);
        Assert.Equal((5L, "english", 3), (prepared.Commit.Generation, prepared.Commit.Analyzer, prepared.Commit.NextSegment));
        Assert.Equal("integer", prepared.Commit.Schema!["year"]);
        var segment = Assert.Single(prepared.Commit.Segments);
        Assert.Equal(("_0", 10, 2L, 1), (segment.Name, segment.MaxDoc, segment.DeleteGeneration, segment.DeleteCount));
        Assert.Equal(["_0.arctic-xs.vec"], Assert.Single(segment.Components).Files);
    }
}
