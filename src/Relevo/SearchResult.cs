namespace Relevo;

/// <summary>The answer to one search: the hits (best first), the canonical pipeline, the query's analysed terms (after
/// feedback, for highlighting), each stage's scores for the hits as columns, the generation searched, and — when asked
/// for — the stored documents and explanations.</summary>
public sealed class SearchResult
{
    private readonly Pipelines.Ranking _ranking;

    internal SearchResult(string query, string pipeline, int k, IReadOnlyList<(string Term, float Weight)> terms, Pipelines.Ranking ranking,
        long generation, string analyzer, IReadOnlyList<Document?>? documents, IReadOnlyList<Explanation?>? explanations)
    {
        Query = query;
        Pipeline = pipeline;
        K = k;
        QueryTermWeights = terms;
        var names = new string[terms.Count];
        for (int i = 0; i < names.Length; i++) names[i] = terms[i].Term;
        QueryTerms = names;
        _ranking = ranking;
        Generation = generation;
        Analyzer = analyzer;
        Documents = documents;
        Explanations = explanations;
    }

    /// <summary>Per field asked for (<see cref="SearchOptions.Facets"/>), its most frequent values among the matching
    /// documents with their counts; null when none were asked for.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<(string Value, long Count)>>? Facets { get; init; }

    /// <summary>The facet fields whose counts may be too low, null when none: on a sharded index each shard sends at most
    /// 10,000 distinct values per field (its most frequent), so a field with more on some shard is counted from those.
    /// Never set on a local index.</summary>
    public IReadOnlyList<string>? ApproximateFacets { get; init; }

    /// <summary>How many documents match the query within the filter, when facets or a sort were asked for; else null.</summary>
    public long? Matching { get; init; }

    /// <summary>The query text as given.</summary>
    public string Query { get; }

    /// <summary>The pipeline's canonical text.</summary>
    public string Pipeline { get; }
    /// <summary>How many hits were asked for.</summary>
    public int K { get; }

    /// <summary>The analysed query terms the last retriever searched with.</summary>
    public IReadOnlyList<string> QueryTerms { get; }

    /// <summary>The same terms with their weights (a term typed twice weighs 2; feedback gives fractional weights).</summary>
    public IReadOnlyList<(string Term, float Weight)> QueryTermWeights { get; }

    /// <summary>The hits, best first.</summary>
    public IReadOnlyList<Hit> Hits => _ranking.Hits;

    /// <summary>The stages that scored, in pipeline order.</summary>
    public IReadOnlyList<string> Stages => _ranking.Stages;

    /// <summary>Stage <paramref name="stage"/>'s score for each hit (NaN where it did not score the hit).</summary>
    public ReadOnlySpan<float> StageScores(int stage) => _ranking.StageScores(stage);

    /// <summary>The commit generation searched (the cluster-wide version on a sharded index).</summary>
    public long Generation { get; }

    /// <summary>The index's analyzer ("english", "lowercase").</summary>
    public string Analyzer { get; }

    /// <summary>Each hit's stored document (null where it was deleted in between), when
    /// <see cref="SearchOptions.Documents"/> was set; else null.</summary>
    public IReadOnlyList<Document?>? Documents { get; }

    /// <summary>Each hit's BM25 term contributions when <see cref="SearchOptions.Explain"/> was set and the pipeline ends
    /// with BM25 (null entries otherwise); null when not asked for.</summary>
    public IReadOnlyList<Explanation?>? Explanations { get; }
}
