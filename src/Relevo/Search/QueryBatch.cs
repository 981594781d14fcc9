using Relevo.Evaluation;

namespace Relevo.Search;

/// <summary>Runs many queries against one searcher, optionally in parallel; the run is the same for any thread count.</summary>
public static class QueryBatch
{
    public static TrecRun Run(Bm25Searcher searcher, IReadOnlyList<(string Id, string Text)> queries, int k,
        int threads = 1, string tag = "relevo", Action<int>? progress = null)
    {
        var results = new IReadOnlyList<SearchHit>[queries.Count];
        var errors = new Exception?[queries.Count];
        int done = 0;
        Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, i =>
        {
            try
            {
                results[i] = searcher.Search(queries[i].Text, k);
            }
            catch (RelevoException e)
            {
                errors[i] = new RelevoException($"query {queries[i].Id}: {e.Message}", e);
                results[i] = [];
            }
            int n = Interlocked.Increment(ref done);
            if (progress is not null && (n & 15) == 0) progress(n);
        });
        foreach (var e in errors) if (e is not null) throw e;
        var run = new TrecRun(tag);
        for (int i = 0; i < queries.Count; i++)
        {
            var ranked = new (string DocId, double Score)[results[i].Count];
            for (int j = 0; j < ranked.Length; j++) ranked[j] = (results[i][j].DocId, results[i][j].Score);
            run.AddRanking(queries[i].Id, ranked);
        }
        progress?.Invoke(queries.Count);
        return run;
    }
}
