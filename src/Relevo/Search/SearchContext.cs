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
        Reader = reader;
        Statistics = statistics ?? new IndexStatistics(reader);
        Analyzer = Analyzer.Create(reader.Analyzer);
        _denseFactory = denseFactory ?? StoredVectors;
    }

    private static IDenseRetriever StoredVectors(IndexReader reader, DenseSpec spec) =>
        new Dense.DenseRetriever(reader, spec.Model, new Dense.DenseSearchOptions { Int8 = spec.Int8, Oversample = spec.Oversample });


    public IndexReader Reader { get; }
    public ICollectionStatistics Statistics { get; }
    public Analyzer Analyzer { get; }

    /// <summary>The chat endpoint that LLM stages (llm.pointwise, llm.listwise, ...) call; null: those stages fail with
    /// a message saying how to pass one.</summary>
    public Rerank.LlmClient? Llm { get; init; }

    public Bm25Searcher Bm25(Bm25Parameters p) => _bm25.GetOrAdd(p, x => new Bm25Searcher(Reader, x, Statistics));

    public QueryLikelihoodSearcher QueryLikelihood(float mu) => _ql.GetOrAdd(mu, m => new QueryLikelihoodSearcher(Reader, m, Statistics));

    public IDenseRetriever Dense(DenseSpec spec) =>
        _dense.GetOrAdd(spec, x => new Lazy<IDenseRetriever>(() => _denseFactory(Reader, x))).Value;

    public void Dispose()
    {
        foreach (var d in _dense.Values)
            if (d.IsValueCreated && d.Value is IDisposable disposable) disposable.Dispose();
    }
}
