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
        var feedback = await TermVectors.ForHitsAsync(ranking.Hits, expander.Docs, context).ConfigureAwait(false);
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
        var feedback = await TermVectors.ForHitsAsync(ranking.Hits, expander.Docs, context).ConfigureAwait(false);
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
