using Relevo.Evaluation;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>A parsed pipeline, ready to run queries against one index commit.</summary>
public sealed class Pipeline
{
    public Stage Root { get; }
    public string Text => Root.Text;

    public Pipeline(Stage root) => Root = root;

    public static Pipeline Parse(string text) => new(PipelineParser.Parse(text));

    /// <summary>The top k for one query.</summary>
    public Ranking Search(string queryText, int k, SearchContext ctx) => Execute(queryText, k, ctx).Ranking!;

    /// <summary>The top k and the final state (the query as the last stage saw it, e.g. after RM3).</summary>
    public PipelineState Execute(string queryText, int k, SearchContext ctx)
    {
        if (string.IsNullOrWhiteSpace(queryText)) throw new RelevoException("empty query");
        if (k < 1) throw new RelevoException("k must be at least 1");
        var state = Root.Run(new PipelineState(new PipelineQuery(queryText), null), ctx, k);
        var ranking = state.Ranking ?? throw new RelevoException($"pipeline '{Text}' ends without a retriever");
        return state with { Ranking = ranking.Cut(k) };
    }

    /// <summary>BM25 term contributions for a hit when the pipeline's last retriever is BM25 (with the query that
    /// stage searched with, so RM3's expansion terms show); null for other pipelines.</summary>
    public Explanation? Explain(PipelineState state, SearchHit hit, SearchContext ctx)
    {
        var last = Root is SequenceStage seq ? seq.Stages[^1] : Root;
        if (last is not Bm25Stage bm25) return null;
        var searcher = ctx.Bm25(bm25.Parameters);
        return searcher.Explain(state.Query.Terms ?? Query.Parse(state.Query.Text, ctx.Analyzer), hit);
    }

    /// <summary>Every query, optionally in parallel; the run is identical for any thread count.</summary>
    public TrecRun Run(IReadOnlyList<(string Id, string Text)> queries, int k, SearchContext ctx, int threads = 1,
        string? tag = null, Action<int>? progress = null)
    {
        var texts = new string[queries.Count];
        for (int i = 0; i < texts.Length; i++) texts[i] = queries[i].Text;
        foreach (var stage in Root.Descendants())
        {
            if (stage is DenseStage d) ctx.Dense(d.Spec).PrepareQueries(texts);
            if (stage is VectorPrfStage v) ctx.Dense(new DenseSpec(v.Model)).PrepareQueries(texts);
            if (stage is Rerank.DenseRerankStage r) ctx.Dense(r.Spec).PrepareQueries(texts);
        }
        var results = new Ranking?[queries.Count];
        var errors = new Exception?[queries.Count];
        int done = 0;
        Parallel.For(0, queries.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, i =>
        {
            try { results[i] = Search(queries[i].Text, k, ctx); }
            catch (RelevoException e) { errors[i] = new RelevoException($"query {queries[i].Id}: {e.Message}", e); }
            int n = Interlocked.Increment(ref done);
            if (progress is not null && (n & 15) == 0) progress(n);
        });
        foreach (var e in errors) if (e is not null) throw e;
        var run = new TrecRun(tag ?? Text);
        for (int i = 0; i < queries.Count; i++)
        {
            var hits = results[i]!.Hits;
            var ranked = new (string DocId, double Score)[hits.Count];
            for (int j = 0; j < ranked.Length; j++) ranked[j] = (hits[j].DocId, hits[j].Score);
            run.AddRanking(queries[i].Id, ranked);
        }
        progress?.Invoke(queries.Count);
        return run;
    }
}
