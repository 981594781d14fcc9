using Relevo.Analysis;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>What a retriever asks the index for: analysed weighted terms (sparse) or a vector (dense).</summary>
internal sealed record RetrievalRequest(Query? Terms, float[]? Vector = null)
{
    /// <summary>A filter over typed fields (Lucene syntax) that retrieval applies inside the search: only matching
    /// documents can be hits (<see cref="Relevo.Search.Filters.DocFilter"/>); null: none.</summary>
    public string? Filter { get; init; }
}

/// <summary>Collection statistics of some terms, and the live document count (feedback's term filters).</summary>
internal sealed record TermStatistics(long DocCount, long LiveDocs, long[] DocFreqs);

/// <summary>What facets and a sort by field found over every document a query matches within a filter: how many match,
/// per field asked for its most frequent values with their counts (null when none were asked for), the fields whose
/// counts may be too low (a shard sent only its most frequent values; null when none), and the first k documents by
/// the sort field (null when no sort was asked for).</summary>
internal sealed record MatchSummary(long Count, IReadOnlyDictionary<string, IReadOnlyList<(string Value, long Count)>>? Facets,
    IReadOnlyList<string>? Approximate, Hit[]? Sorted);

/// <summary>Where a pipeline runs: one commit of one local index (<see cref="LocalTarget"/>), or a sharded index at
/// one cluster-wide version, in this process or on a cluster (<see cref="Sharding.ShardedTarget"/>). Stages reach the
/// index only through it, so every stage runs on both.</summary>
internal interface ISearchTarget
{
    Analyzer Analyzer { get; }

    /// <summary>The commit generation (local) or cluster-wide version (sharded) the last search ran on.</summary>
    long Version { get; }

    /// <summary>The top k of the retriever for the request, over the whole index (every shard scoring with the
    /// collection-wide statistics, merged as one index would rank).</summary>
    ValueTask<Hit[]> RetrieveAsync(RetrieverStage retriever, RetrievalRequest request, int k, CancellationToken cancellation);

    /// <summary>The stored documents of hits (null where deleted meanwhile).</summary>
    ValueTask<Document?[]> DocumentsAsync(IReadOnlyList<Hit> hits, CancellationToken cancellation);

    /// <summary>Document frequencies of the terms over the whole index, with the live document count.</summary>
    ValueTask<TermStatistics> StatisticsAsync(IReadOnlyList<string> terms, CancellationToken cancellation);

    /// <summary>What a registered document operation (e.g. the dense extension's "stored vector") answers for each
    /// hit, run where the hit's document lives.</summary>
    ValueTask<byte[]?[]> FetchAsync(string operation, string argument, IReadOnlyList<Hit> hits, CancellationToken cancellation);

    /// <summary>Each hit's BM25 explanation as <paramref name="stage"/> scored it for <paramref name="query"/>, computed
    /// where the hit's document lives (null where it was deleted meanwhile).</summary>
    ValueTask<Explanation?[]> ExplainAsync(RetrieverStage stage, Query query, IReadOnlyList<Hit> hits, CancellationToken cancellation);

    /// <summary>The retriever's exact scores for the hits (each where its document lives; 0 for one deleted meanwhile).</summary>
    ValueTask<float[]> ScoreAsync(RetrieverStage retriever, RetrievalRequest request, IReadOnlyList<Hit> hits, CancellationToken cancellation);

    /// <summary>The documents <paramref name="query"/> matches within <paramref name="filter"/> (its bag of analysed
    /// terms, or its Lucene-syntax tree), as one index matches them: their number, the <paramref name="facetSize"/> most
    /// frequent values of each facet field, and the first k by <paramref name="sortField"/> (ties in document order).</summary>
    ValueTask<MatchSummary> MatchAsync(Query query, string? filter, IReadOnlyList<string>? facets, int facetSize, string? sortField,
        bool descending, int k, CancellationToken cancellation);

    /// <summary>The typed fields (field → type name) of the index; null when it has none.</summary>
    ValueTask<IReadOnlyDictionary<string, string>?> SchemaAsync(CancellationToken cancellation);

    /// <summary>The one local commit; null on a sharded index.</summary>
    IndexReader? LocalReader { get; }
}

/// <summary>One commit of one local index.</summary>
internal sealed class LocalTarget(IndexReader reader, ExtensionRegistry registry) : ISearchTarget
{
    public IndexReader Reader => reader;
    public Analyzer Analyzer => reader.AnalyzerInstance;
    public long Version => reader.Manifest.Generation;
    public IndexReader? LocalReader => reader;

    public ValueTask<Hit[]> RetrieveAsync(RetrieverStage retriever, RetrievalRequest request, int k, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        using var _ = SearchCancellation.Enter(cancellation); // exhaustive matching checks it as it goes
        return ValueTask.FromResult(Retrieve(reader, retriever, request, k));
    }

    /// <summary>The top k of a retriever over one commit, as hits.</summary>
    public static Hit[] Retrieve(IndexReader reader, RetrieverStage retriever, RetrievalRequest request, int k) =>
        reader.TopHits(k, (docs, scores) => retriever.Search(reader, request, null, k, docs, scores, float.NegativeInfinity, null));

    public ValueTask<Document?[]> DocumentsAsync(IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        var docs = new Document?[hits.Count];
        for (int i = 0; i < docs.Length; i++)
        {
            var seg = reader.Segments[hits[i].Segment];
            docs[i] = seg.IsDeleted(hits[i].Doc) ? null : seg.GetDocument(hits[i].Doc);
        }
        return ValueTask.FromResult(docs);
    }

    public ValueTask<TermStatistics> StatisticsAsync(IReadOnlyList<string> terms, CancellationToken cancellation)
    {
        var df = new long[terms.Count];
        for (int i = 0; i < df.Length; i++) df[i] = reader.Statistics.DocFreq(terms[i]);
        return ValueTask.FromResult(new TermStatistics(reader.Statistics.DocCount, reader.LiveDocs, df));
    }

    public ValueTask<Explanation?[]> ExplainAsync(RetrieverStage stage, Query query, IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        var result = new Explanation?[hits.Count];
        for (int i = 0; i < result.Length; i++) result[i] = stage.Explain(reader, query, hits[i], null);
        return ValueTask.FromResult(result);
    }

    public ValueTask<float[]> ScoreAsync(RetrieverStage retriever, RetrievalRequest request, IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var segment = new int[hits.Count];
        var doc = new int[hits.Count];
        for (int i = 0; i < hits.Count; i++) (segment[i], doc[i]) = (hits[i].Segment, hits[i].Doc);
        var scores = new float[hits.Count];
        using var _ = SearchCancellation.Enter(cancellation);
        retriever.ScoreDocs(reader, request, null, segment, doc, scores);
        return ValueTask.FromResult(scores);
    }

    public ValueTask<MatchSummary> MatchAsync(Query query, string? filter, IReadOnlyList<string>? facets, int facetSize, string? sortField,
        bool descending, int k, CancellationToken cancellation)
    {
        var set = Relevo.Search.Filters.MatchSet.Of(reader, query, Relevo.Search.Filters.DocFilter.For(reader, filter), cancellation);
        var counted = facets is { Count: > 0 } ? set.Facets(facets, Math.Max(1, facetSize), cancellation) : null;
        var sorted = sortField is not null ? set.Sorted(sortField, descending, k) : null;
        return ValueTask.FromResult(new MatchSummary(set.Count, counted, null, sorted));
    }

    public ValueTask<IReadOnlyDictionary<string, string>?> SchemaAsync(CancellationToken cancellation) =>
        ValueTask.FromResult(reader.Manifest.Schema);

    public ValueTask<byte[]?[]> FetchAsync(string operation, string argument, IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        var op = registry.DocumentOperation(operation);
        var result = new byte[]?[hits.Count];
        for (int i = 0; i < result.Length; i++) result[i] = op(reader, argument, hits[i].Segment, hits[i].Doc);
        return ValueTask.FromResult(result);
    }
}
