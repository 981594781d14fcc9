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
    /// <param name="filter">A filter over typed fields (Lucene syntax) every retriever applies inside its search; null:
    /// none. Its syntax is checked before anything runs.</param>
    public async ValueTask<PipelineState> ExecuteAsync(string queryText, int k, StageContext context, QuerySyntax syntax = QuerySyntax.Plain,
        string? filter = null)
    {
        if (string.IsNullOrWhiteSpace(queryText)) throw new RelevoException("empty query");
        if (k < 1) throw new RelevoException("k must be at least 1");
        var query = PipelineQuery.Read(queryText, syntax, context.Analyzer, context.QuerySchema);
        if (context.QuerySchema is null && query.Structured is { } tree && Search.Structured.StructuredQuery.NamesOtherFields(tree))
        {
            // a sharded index: whether a field is text or typed is the shards' schema's to say (read only for such queries)
            context.QuerySchema = Index.Values.Schema.FromManifest(await context.Target.SchemaAsync(context.Cancellation).ConfigureAwait(false));
            query = PipelineQuery.Read(queryText, syntax, context.Analyzer, context.QuerySchema);
        }
        if (!string.IsNullOrWhiteSpace(filter))
        {
            Search.Filters.DocFilter.Parse(filter);
            query = query with { Filter = filter };
        }
        var state = await context.RunAsync(Root, new PipelineState(query, null), k).ConfigureAwait(false);
        var ranking = state.Ranking ?? throw new RelevoException($"pipeline '{Text}' ends without a retriever");
        return state with { Ranking = ranking.Cut(k) };
    }

    /// <summary>Why the hits scored what they did, each stage explaining its own scores and passing down to its inputs
    /// (null entries where the final stage explains nothing). The search must have run with a tracing context.</summary>
    public ValueTask<Explanation?[]> ExplainAsync(IReadOnlyList<Hit> hits, StageContext context) => context.ExplainAsync(Root, hits);
}
