using System.Collections.Concurrent;
using Relevo.Analysis;
using Relevo.Index;

namespace Relevo.Search;

/// <summary>A dense retriever as pipelines see it: search by text or by vector, and the stored vector of a document.</summary>
public interface IDenseRetriever
{
    string Model { get; }
    /// <summary>A hint that these query texts are coming (lets an encoder batch them).</summary>
    void PrepareQueries(IReadOnlyList<string> texts);
    IReadOnlyList<SearchHit> Search(string queryText, int k);
    IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> queryVector, int k);
    float[] EmbedQuery(string text);
    float[] GetVector(int segment, int doc);
}

/// <summary>Where a pipeline's retrievers search when it does not run over one local index: a sharded index, in this
/// process or on a cluster (<see cref="Sharding.ClusterBackend"/>).</summary>
public interface ISearchBackend
{
    string AnalyzerName { get; }
    IReadOnlyList<SearchHit> Bm25(Bm25Parameters parameters, Query query, int k);
    IReadOnlyList<SearchHit> QueryLikelihood(float mu, Query query, int k);
    IDenseRetriever Dense(DenseSpec spec);
}

/// <summary>Which dense retriever: the model, and whether to scan the int8 copy first (rescoring in float32).</summary>
public readonly record struct DenseSpec(string Model, bool Int8 = false, int Oversample = 4);

/// <summary>Everything a pipeline needs to run over one index commit: the reader, its analyzer and statistics, and
/// retrievers created once and shared by all queries (thread-safe). Dispose it to release dense models.</summary>
public sealed class SearchContext : IDisposable
{
    private readonly ConcurrentDictionary<Bm25Parameters, Bm25Searcher> _bm25 = new();
    private readonly ConcurrentDictionary<float, QueryLikelihoodSearcher> _ql = new();
    private readonly ConcurrentDictionary<DenseSpec, Lazy<IDenseRetriever>> _dense = new();
    private readonly Func<IndexReader, DenseSpec, IDenseRetriever> _denseFactory;

    /// <param name="denseFactory">Creates dense retrievers (default: <see cref="Dense.DenseRetriever"/> over the
    /// vectors stored with the index); a sharded deployment passes its own.</param>
    public SearchContext(IndexReader reader, ICollectionStatistics? statistics = null,
        Func<IndexReader, DenseSpec, IDenseRetriever>? denseFactory = null)
    {
        _reader = reader;
        _statistics = statistics ?? new IndexStatistics(reader);
        Analyzer = Analyzer.Create(reader.Analyzer);
        _denseFactory = denseFactory ?? StoredVectors;
    }

    /// <summary>A context whose retrievers search through <paramref name="backend"/> (a sharded index). Stages that
    /// need one local index (rm3, rocchio, explanations) fail with a message saying so.</summary>
    public SearchContext(ISearchBackend backend)
    {
        Backend = backend;
        Analyzer = Analyzer.Create(backend.AnalyzerName);
        _denseFactory = (_, spec) => backend.Dense(spec);
    }

    private readonly IndexReader? _reader;
    private readonly ICollectionStatistics? _statistics;

    /// <summary>Set when the retrievers search a sharded index rather than <see cref="Reader"/>.</summary>
    public ISearchBackend? Backend { get; }

    private static IDenseRetriever StoredVectors(IndexReader reader, DenseSpec spec) =>
        new Dense.DenseRetriever(reader, spec.Model, new Dense.DenseSearchOptions { Int8 = spec.Int8, Oversample = spec.Oversample });


    public IndexReader Reader => _reader ?? throw NeedsLocalIndex();
    public ICollectionStatistics Statistics => _statistics ?? throw NeedsLocalIndex();

    private static RelevoException NeedsLocalIndex() =>
        new("this stage needs a single local index (rm3, rocchio and explanations do not run on a sharded index yet)");
    public Analyzer Analyzer { get; }

    /// <summary>The chat endpoint that LLM stages (llm.pointwise, llm.listwise, ...) call; null: those stages fail with
    /// a message saying how to pass one.</summary>
    public Rerank.LlmClient? Llm { get; init; }

    /// <summary>The top k by BM25, from the local index or the backend.</summary>
    public IReadOnlyList<SearchHit> SearchBm25(Bm25Parameters p, Query query, int k) =>
        Backend is { } b ? b.Bm25(p, query, k) : Bm25(p).Search(query, k);

    /// <summary>The top k by query likelihood, from the local index or the backend.</summary>
    public IReadOnlyList<SearchHit> SearchQueryLikelihood(float mu, Query query, int k) =>
        Backend is { } b ? b.QueryLikelihood(mu, query, k) : QueryLikelihood(mu).Search(query, k);

    public Bm25Searcher Bm25(Bm25Parameters p) => _bm25.GetOrAdd(p, x => new Bm25Searcher(Reader, x, Statistics));

    public QueryLikelihoodSearcher QueryLikelihood(float mu) => _ql.GetOrAdd(mu, m => new QueryLikelihoodSearcher(Reader, m, Statistics));

    public IDenseRetriever Dense(DenseSpec spec) =>
        _dense.GetOrAdd(spec, x => new Lazy<IDenseRetriever>(() => _denseFactory(_reader!, x))).Value;

    public void Dispose()
    {
        foreach (var d in _dense.Values)
            if (d.IsValueCreated && d.Value is IDisposable disposable) disposable.Dispose();
    }
}
