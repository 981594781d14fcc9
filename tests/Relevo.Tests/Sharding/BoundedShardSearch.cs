using Relevo.Analysis;
using Relevo.Index;
using Relevo.Search;
using Relevo.Search.Similarities;
using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>Rank safety of the pruning bounds a shard search takes (<see cref="SparseSearcher{TScorer}.Search"/>): a floor
/// known before the search and a <see cref="SharedBound"/> raised by the other shards of the same query. The shards
/// are searched one after another in one thread, sharing one bound, so every shard after the first prunes with
/// the k-th scores of those before it; the merged top k must be exactly the unbounded one.</summary>
internal sealed class BoundedShardSearch : IDisposable
{
    private readonly IndexReader[] _readers;
    private readonly IndexStatistics[] _stats;
    private readonly Analyzer _analyzer;

    public BoundedShardSearch(string shardedDir)
    {
        var manifest = ShardedManifest.Read(shardedDir);
        _analyzer = Analyzer.Create(manifest.Analyzer);
        _readers = new IndexReader[manifest.ShardCount];
        for (int i = 0; i < _readers.Length; i++)
            _readers[i] = IndexReader.Open(Path.Combine(shardedDir, manifest.Shards[i].Folder), manifest.Shards[i].Commit);
        _stats = _readers.Select(r => new IndexStatistics(r)).ToArray();
    }

    /// <summary>For every query: the shards' unbounded top k merged, against the shards searched in
    /// <paramref name="order"/> with one shared bound and a floor one ulp below the k-th score of the first shard
    /// searched (its own unbounded k-th score, as another shard's reply would give it). Returns the differences (exact: same ids, bit-identical scores, same
    /// order) and how many shard searches actually had a finite floor or bound to prune with.</summary>
    public (List<string> Differences, int Bounded) Check(IReadOnlyList<(string Id, string Text)> queries, int k,
        PruningAlgorithm algorithm, int[] order)
    {
        var diffs = new List<string>();
        int bounded = 0;
        foreach (var (qid, text) in queries)
        {
            var query = Query.Parse(text, _analyzer);
            if (query.Terms.Count == 0) continue;
            var searchers = Searchers(query);

            var unbounded = new ShardHits[_readers.Length];
            for (int s = 0; s < _readers.Length; s++)
                unbounded[s] = ToShardHits(_readers[s], searchers[s].Search(query, k, algorithm));
            var expected = ShardedTarget.Merge(unbounded, k);

            var first = unbounded[order[0]];
            float floor = first.Count == k ? MathF.BitDecrement(first.Scores[^1]) : float.NegativeInfinity;
            var shared = new SharedBound();
            var pruned = new ShardHits[_readers.Length];
            for (int i = 0; i < order.Length; i++)
            {
                int s = order[i];
                if (float.IsFinite(floor) || float.IsFinite(shared.Value)) bounded++;
                pruned[s] = ToShardHits(_readers[s], searchers[s].Search(query, k, algorithm, floor, shared));
            }
            var actual = ShardedTarget.Merge(pruned, k);

            if (actual.Length != expected.Length)
                diffs.Add($"query {qid}: {actual.Length} hits with bounds, {expected.Length} without");
            for (int i = 0; i < Math.Min(actual.Length, expected.Length); i++)
            {
                if (actual[i].Id != expected[i].Id || BitConverter.SingleToInt32Bits(actual[i].Score) != BitConverter.SingleToInt32Bits(expected[i].Score))
                {
                    diffs.Add($"query {qid}: rank {i + 1}: {actual[i].Id} {actual[i].Score:R} with bounds, {expected[i].Id} {expected[i].Score:R} without");
                    break;
                }
            }
            if (diffs.Count >= RankingComparison.MaxListed) break;
        }
        return (diffs, bounded);
    }

    private Bm25Searcher[] Searchers(Query query)
    {
        var terms = query.Terms.Select(t => t.Term).ToArray();
        var perShard = new List<ShardStatistics>();
        foreach (var stats in _stats)
        {
            perShard.Add(new ShardStatistics(0, stats.DocCount, stats.SumTotalTermFreq,
                terms.Select(stats.DocFreq).ToArray(), terms.Select(stats.TotalTermFreq).ToArray()));
        }
        var global = ShardStatistics.Sum(terms, perShard);
        return _readers.Select(r => new Bm25Searcher(r, new Bm25Parameters(), global)).ToArray();
    }

    // ordinals: the shard's document numbers (the same in the bounded and the unbounded merge, which is all that counts here)
    private static ShardHits ToShardHits(IndexReader reader, IReadOnlyList<Hit> hits) =>
        new(0, hits.Select(h => h.Id).ToArray(), hits.Select(h => h.Score).ToArray(),
            hits.Select(h => reader.DocBase[h.Segment] + h.Doc).ToArray(), hits.Select(h => (long)(reader.DocBase[h.Segment] + h.Doc)).ToArray());

    public void Dispose()
    {
        foreach (var r in _readers) r.Dispose();
    }
}
