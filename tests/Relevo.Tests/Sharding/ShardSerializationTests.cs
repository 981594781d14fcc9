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
