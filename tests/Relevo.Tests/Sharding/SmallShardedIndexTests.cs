using System.Text.Json;

namespace Relevo.Tests.Sharding;

/// <summary>Corner cases of the merge and of global statistics: shards with no documents at all, or none that
/// match, an empty index, k = 1, and a query whose terms occur nowhere.</summary>
public sealed class SmallShardedIndexTests
{
    private static readonly string[] Texts =
    [
        "vitamin d deficiency and cancer risk",
        "cats sleep most of the day",
        "vitamin c and the common cold",
        "volcano eruption in iceland",
        "the striker scored twice in the final",
        "coffee caffeine blocks adenosine",
        "vitamin d vitamin d vitamin d",
        "cancer screening saves lives",
        "iceland has many volcanoes and glaciers",
        "cold weather and the common cold",
    ];

    private static readonly List<(string Id, string Text)> Queries =
    [
        ("q1", "vitamin d"), ("q2", "cancer"), ("q3", "iceland volcano"), ("q4", "common cold vitamin"), ("q5", "zzyzx unknownterm"),
    ];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(10)]
    public void Tiny_collections_on_four_shards_rank_as_one_index(int docs)
    {
        using var tmp = new TempDir();
        string corpus = tmp["corpus.jsonl"];
        File.WriteAllLines(corpus, Texts.Take(docs).Select((t, i) =>
            JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = $"d{i}", ["title"] = "", ["text"] = t })));
        using var pair = new ShardedPair(corpus);
        foreach (var pipeline in new[] { "bm25", "ql", "fuse(minmax,bm25,ql)" })
            foreach (int k in new[] { 1, 2, 5, 10 })
                RankingComparison.AssertSame(pair.Compare(pipeline, Queries, k), $"{docs} documents, {pipeline}, k={k}");
    }
}
