using Relevo.Feedback;

namespace Relevo.Pipelines;

/// <summary>rm3(terms, docs, weight): Anserini's RM3 query expansion from the top documents of the ranking before it.</summary>
internal sealed class Rm3Stage(Rm3Expander expander) : Stage
{
    public const int MaxTerms = 1000, MaxDocs = 1000;

    public override string Text => $"rm3(terms={expander.Terms},docs={expander.Docs},weight={Num(expander.OriginalQueryWeight)})";

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException("rm3 needs a ranking before it (e.g. bm25 >> rm3 >> bm25)");
        var q = RetrieverStage.TermsOf(state.Query, context);
        var feedback = await FeedbackVectors.ForHitsAsync(ranking.Hits, expander.Docs, context).ConfigureAwait(false);
        return state with { Query = state.Query with { Terms = expander.Expand(q, ranking.Hits, feedback) } };
    }

    public static Stage Build(StageSyntax s)
    {
        s.Accept("terms", "docs", "weight");
        s.NoPositional();
        return new Rm3Stage(new Rm3Expander(s.Int("terms", 10, 1, MaxTerms), s.Int("docs", 10, 1, MaxDocs), s.Float("weight", 0.5f, 0, 1)));
    }
}

/// <summary>rocchio(terms, docs, alpha, beta): Rocchio feedback over term vectors (Anserini's, without negative feedback).</summary>
internal sealed class RocchioStage(RocchioExpander expander) : Stage
{
    public override string Text => $"rocchio(terms={expander.Terms},docs={expander.Docs},alpha={Num(expander.Alpha)},beta={Num(expander.Beta)})";

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException("rocchio needs a ranking before it (e.g. bm25 >> rocchio >> bm25)");
        var q = RetrieverStage.TermsOf(state.Query, context);
        var feedback = await FeedbackVectors.ForHitsAsync(ranking.Hits, expander.Docs, context).ConfigureAwait(false);
        return state with { Query = state.Query with { Terms = expander.Expand(q, feedback) } };
    }

    public static Stage Build(StageSyntax s)
    {
        s.Accept("terms", "docs", "alpha", "beta");
        s.NoPositional();
        return new RocchioStage(new RocchioExpander(s.Int("terms", 10, 1, Rm3Stage.MaxTerms), s.Int("docs", 10, 1, Rm3Stage.MaxDocs),
            s.Float("alpha", 1f, 0, 1e6), s.Float("beta", 0.5f, 0, 1e6)));
    }
}

/// <summary>The feedback documents of RM3 and Rocchio as filtered term vectors, wherever the documents live.</summary>
internal static class FeedbackVectors
{
    /// <summary>The filtered term vectors of the first <paramref name="n"/> hits: documents fetched where they live,
    /// document frequencies over the whole index (so a sharded index filters as one index would).</summary>
    public static async ValueTask<Dictionary<string, float>[]> ForHitsAsync(IReadOnlyList<Hit> hits, int n, StageContext context)
    {
        n = Math.Min(n, hits.Count);
        var head = new Hit[n];
        for (int i = 0; i < n; i++) head[i] = hits[i];
        var docs = await context.DocumentsAsync(head).ConfigureAwait(false);
        var counts = new Dictionary<string, float>[n];
        var vocabulary = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < n; i++)
        {
            counts[i] = TermVectors.Counts(docs[i], context.Analyzer);
            foreach (var t in counts[i].Keys)
                if (TermVectors.IsFeedbackTerm(t) && seen.Add(t)) vocabulary.Add(t);
        }
        var stats = await context.Target.StatisticsAsync(vocabulary, context.Cancellation).ConfigureAwait(false);
        var df = new Dictionary<string, long>(vocabulary.Count, StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++) df[vocabulary[i]] = stats.DocFreqs[i];
        var vectors = new Dictionary<string, float>[n];
        for (int i = 0; i < n; i++) vectors[i] = TermVectors.Filter(counts[i], df, stats.LiveDocs);
        return vectors;
    }
}
