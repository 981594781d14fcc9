using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>A parsed pipeline, ready to run queries.</summary>
internal sealed class Pipeline
{
    public Stage Root { get; }
    public string Text => Root.Text;

    public Pipeline(Stage root) => Root = root;

    /// <summary>Parses pipeline text with the stages of <paramref name="registry"/> (the core's when null).</summary>
    public static Pipeline Parse(string text, ExtensionRegistry? registry = null) =>
        new(PipelineParser.Parse(text, registry ?? ExtensionRegistry.Core));

    /// <summary>The top k for one query, and the final state (the query as the last stage saw it, e.g. after RM3).</summary>
    public async ValueTask<PipelineState> ExecuteAsync(string queryText, int k, StageContext context)
    {
        if (string.IsNullOrWhiteSpace(queryText)) throw new RelevoException("empty query");
        if (k < 1) throw new RelevoException("k must be at least 1");
        var pending = Root.RunAsync(new PipelineState(new PipelineQuery(queryText), null), context, k);
        var state = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
        var ranking = state.Ranking ?? throw new RelevoException($"pipeline '{Text}' ends without a retriever");
        return state with { Ranking = ranking.Cut(k) };
    }

    /// <summary>The BM25 stage whose scores are the final ones (the last stage, when it is bm25), or null.</summary>
    internal Bm25Stage? ExplainingStage => (Root is SequenceStage seq ? seq.Stages[^1] : Root) as Bm25Stage;

    /// <summary>BM25 term contributions for hits when the pipeline's last stage is BM25 (with the query that stage
    /// searched with, so RM3's expansion terms show), computed where each hit's document lives (a local index or its
    /// shard); null for other pipelines.</summary>
    public async ValueTask<Explanation?[]?> ExplainAsync(PipelineState state, IReadOnlyList<Hit> hits, StageContext context)
    {
        if (ExplainingStage is not { } bm25) return null;
        return await context.Target.ExplainAsync(bm25, RetrieverStage.TermsOf(state.Query, context), hits, context.Cancellation).ConfigureAwait(false);
    }
}
