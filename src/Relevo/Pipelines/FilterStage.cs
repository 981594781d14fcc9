namespace Relevo.Pipelines;

/// <summary>filter(q="year:[2015 TO 2020] AND lang:en") &gt;&gt; retriever: the retrievers after it search only documents
/// matching the filter (typed fields, Lucene syntax), inside their search, so k hits come back whenever k documents
/// match. Two filters both apply. It comes before the retrievers it filters: after a retrieval it would cut a top k,
/// which it refuses to do.</summary>
internal sealed class FilterStage(string filter) : Stage
{
    public string Filter { get; } = filter;

    public override string Text => $"filter(q=\"{Filter}\")";

    public override ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        if (state.Ranking is not null)
            throw new RelevoException($"{Text} comes before the retrievers it filters (filter(q=\"...\") >> bm25): after a retrieval it would " +
                                      "cut the top k instead of searching the matching documents");
        string combined = state.Query.Filter is { } before ? $"+({before}) +({Filter})" : Filter;
        return ValueTask.FromResult(state with { Query = state.Query with { Filter = combined } });
    }

    public static Stage Build(StageSyntax s)
    {
        s.Accept("q");
        s.NoPositional();
        var text = s.String("q") ?? throw s.Error(s.Column, "filter: give the filter as q=\"field:value ...\"");
        if (string.IsNullOrWhiteSpace(text)) throw s.Error(s.ColumnOf("q"), "filter: q is empty");
        try
        {
            Search.Filters.DocFilter.Parse(text);
        }
        catch (RelevoException e)
        {
            throw s.Error(s.ColumnOf("q"), e.Message);
        }
        return new FilterStage(text);
    }
}
