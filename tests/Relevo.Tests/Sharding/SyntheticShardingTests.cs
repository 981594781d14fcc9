using System.Diagnostics;
using Relevo.Collections;
using Relevo.Search;
using Xunit.Abstractions;

namespace Relevo.Tests.Sharding;

/// <summary>A synthetic corpus indexed as one index and as 4 shards.</summary>
public abstract class SyntheticShards : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ShardedPair? _pair;

    internal ShardedPair Pair => _pair ?? throw new InvalidOperationException("heavy fixture not built");
    internal List<(string Id, string Text)> Queries { get; } = [];
    public TimeSpan GenerateTime { get; }
    public int Docs { get; }

    protected SyntheticShards(int docs, int queries, int seed, bool heavy)
    {
        Docs = docs;
        if (heavy && !HeavyFactAttribute.Enabled) return; // xunit builds class fixtures even when every test is skipped
        string corpus = _dir["corpus"];
        GenerateTime = BenchCorpus.Generate(corpus, docs, queries, seed);
        Queries = JsonlReader.ReadQueries(Path.Combine(corpus, "queries.jsonl"));
        _pair = new ShardedPair(Path.Combine(corpus, "corpus.jsonl"));
        File.Delete(Path.Combine(corpus, "corpus.jsonl"));
    }

    public void Dispose()
    {
        _pair?.Dispose();
        _dir.Dispose();
    }
}

/// <summary>20,000 documents and 500 queries: the default-run size (the issue's 100,000 × 2,000 is heavy).</summary>
public sealed class SyntheticShards20K() : SyntheticShards(20_000, 500, 11, heavy: false);

/// <summary>The issue's size: 100,000 documents, 2,000 queries, seed 11.</summary>
public sealed class SyntheticShards100K() : SyntheticShards(100_000, 2_000, 11, heavy: true);

public sealed class SyntheticShardingTests(SyntheticShards20K index, ITestOutputHelper output) : IClassFixture<SyntheticShards20K>
{
    [Theory]
    [InlineData(10)]
    [InlineData(1000)]
    public void Bm25_on_four_shards_ranks_as_one_index(int k) => SyntheticChecks.Compare(index, output, k);

    [Theory]
    [InlineData("MaxScore", 10)]
    [InlineData("BlockMaxWand", 10)]
    [InlineData("MaxScore", 1000)]
    public void Shard_pruning_with_a_floor_and_a_shared_bound_is_rank_safe(string algorithm, int k) =>
        SyntheticChecks.Bounds(index, output, Enum.Parse<PruningAlgorithm>(algorithm), k);
}

[Trait("Category", "Heavy")]
public sealed class SyntheticShardingHeavyTests(SyntheticShards100K index, ITestOutputHelper output) : IClassFixture<SyntheticShards100K>
{
    [HeavyFact] public void Bm25_at_10() => SyntheticChecks.Compare(index, output, 10);
    [HeavyFact] public void Bm25_at_1000() => SyntheticChecks.Compare(index, output, 1000);
    [HeavyFact] public void Bounds_are_rank_safe_at_10() => SyntheticChecks.Bounds(index, output, PruningAlgorithm.MaxScore, 10);
}

internal static class SyntheticChecks
{
    public static void Compare(SyntheticShards index, ITestOutputHelper output, int k)
    {
        var clock = Stopwatch.StartNew();
        var diffs = index.Pair.Compare("bm25", index.Queries, k);
        output.WriteLine($"synthetic {index.Docs} docs, {index.Queries.Count} queries, bm25 k={k}: compared in {clock.Elapsed.TotalSeconds:F1} s " +
                         $"(corpus generated in {index.GenerateTime.TotalSeconds:F1} s, indexes built in {index.Pair.BuildTime.TotalSeconds:F1} s)");
        RankingComparison.AssertSame(diffs, $"synthetic corpus, 4 shards, bm25, k={k}");
        int matched = index.Pair.QueriesWithHits("bm25", index.Queries, k);
        Assert.True(matched >= index.Queries.Count * 9 / 10, $"only {matched} of {index.Queries.Count} queries matched anything");
    }

    public static void Bounds(SyntheticShards index, ITestOutputHelper output, PruningAlgorithm algorithm, int k)
    {
        using var bounded = new BoundedShardSearch(index.Pair.ShardedDir);
        foreach (int[] order in new[] { new[] { 0, 1, 2, 3 }, new[] { 2, 0, 3, 1 } })
        {
            var (diffs, pruned) = bounded.Check(index.Queries, k, algorithm, order);
            output.WriteLine($"{algorithm} k={k} order {string.Join(",", order)}: {pruned} shard searches ran with a bound");
            RankingComparison.AssertSame(diffs, $"bounded shard search ({algorithm}, k={k})");
            Assert.True(pruned > 0, "no shard search had a bound to prune with: the test tests nothing");
        }
    }
}
