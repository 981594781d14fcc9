using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo.Tests.Cluster;

/// <summary>SciFact as one ordinary index and as a 4-shard index of the same corpus, and its 300 test queries; and
/// the tie-aware comparison of a sharded ranking with the single index's.</summary>
internal sealed class ShardedSciFact : IDisposable
{
    private readonly TempDir _dir = new();

    public string SingleDir => _dir["single"];
    public string ShardedDir => _dir["sharded"];
    public IReadOnlyList<(string Id, string Text)> Queries { get; }
    public IndexReader Single { get; }

    public ShardedSciFact(int shards = 4)
    {
        var data = TestData.Dataset("scifact");
        using (var w = IndexWriter.Open(SingleDir))
        {
            CorpusIndexer.AddCorpus(w, data.CorpusPath);
            w.Commit();
        }
        ShardedIndex.CreateOrOpen(ShardedDir, shards);
        var hosts = ShardedIndex.OpenLocal(ShardedDir);
        try
        {
            var writer = new ClusterWriter(ShardedDir, hosts);
            var docs = JsonlReader.Read(data.CorpusPath, requireText: false, null).Select(r => new Document(r.Id, r.Title, r.Text));
            writer.AddAsync(docs, replace: false).GetAwaiter().GetResult();
            writer.CommitAsync().GetAwaiter().GetResult();
        }
        finally
        {
            foreach (var h in hosts) h.Dispose();
        }
        var test = Qrels.Load(data.QrelsPath).QueryIds.ToHashSet();
        Queries = JsonlReader.ReadQueries(data.QueriesPath).Where(q => test.Contains(q.Id)).ToList();
        Single = IndexReader.Open(SingleDir);
    }

    /// <summary>The single index's ranking for every query.</summary>
    public Dictionary<string, IReadOnlyList<SearchHit>> Expected(string pipeline, int k)
    {
        using var ctx = new SearchContext(Single);
        var p = Pipeline.Parse(pipeline);
        var result = new Dictionary<string, IReadOnlyList<SearchHit>>();
        foreach (var (id, text) in Queries) result[id] = p.Search(text, k, ctx).Hits;
        return result;
    }

    public void Dispose()
    {
        Single.Dispose();
        _dir.Dispose();
    }

    /// <summary>Differences between a sharded ranking and the single index's (empty: the same). Scores must agree
    /// within 1e-5 at every rank; documents must be the same, except that documents with equal scores may come in
    /// another order (a sharded index breaks ties by shard and document, one index by its document number), and at
    /// the cut the last group of equal scores may hold other members of that tie.</summary>
    public static List<string> Compare(IReadOnlyList<SearchHit> expected, IReadOnlyList<SearchHit> actual, int max = 5)
    {
        var problems = new List<string>();
        if (expected.Count != actual.Count) problems.Add($"{actual.Count} hits, expected {expected.Count}");
        int n = Math.Min(expected.Count, actual.Count);
        for (int i = 0; i < n && problems.Count < max; i++)
            if (Math.Abs(expected[i].Score - actual[i].Score) > 1e-5f)
                problems.Add($"rank {i + 1}: score {actual[i].Score} ({actual[i].DocId}), expected {expected[i].Score} ({expected[i].DocId})");
        if (problems.Count > 0 || n == 0) return problems;
        // group by equal score; every group but the one cut at k must hold the same documents
        float last = expected[n - 1].Score;
        int start = 0;
        while (start < n)
        {
            int end = start;
            while (end < n && Math.Abs(expected[end].Score - expected[start].Score) <= 1e-5f) end++;
            bool cut = Math.Abs(expected[start].Score - last) <= 1e-5f;
            var e = new HashSet<string>(); var a = new HashSet<string>();
            for (int i = start; i < end; i++) { e.Add(expected[i].DocId); a.Add(actual[i].DocId); }
            if (!cut && !e.SetEquals(a))
                problems.Add($"ranks {start + 1}-{end}: [{string.Join(' ', a.Order())}], expected [{string.Join(' ', e.Order())}]");
            start = end;
            if (problems.Count >= max) break;
        }
        return problems;
    }
}
