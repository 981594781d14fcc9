using System.Collections.Concurrent;
using Relevo.Analysis;
using Relevo.Index;

namespace Relevo.Search;

/// <summary>A dense retriever as pipelines see it: search by text or by vector, and the stored vector of a document.</summary>
public interface IDenseRetriever
{
    string Model { get; }
    IReadOnlyList<SearchHit> Search(string queryText, int k);
    IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> queryVector, int k);
    float[] EmbedQuery(string text);
    float[] GetVector(int segment, int doc);
}

/// <summary>Everything a pipeline needs to run over one index commit: the reader, its analyzer and statistics, and
/// retrievers created once and shared by all queries (thread-safe).</summary>
public sealed class SearchContext
{
    private readonly ConcurrentDictionary<Bm25Parameters, Bm25Searcher> _bm25 = new();
    private readonly ConcurrentDictionary<float, QueryLikelihoodSearcher> _ql = new();
    private readonly ConcurrentDictionary<string, IDenseRetriever> _dense = new(StringComparer.Ordinal);
    private readonly Func<IndexReader, string, IDenseRetriever>? _denseFactory;

    public SearchContext(IndexReader reader, ICollectionStatistics? statistics = null,
        Func<IndexReader, string, IDenseRetriever>? denseFactory = null)
    {
        Reader = reader;
        Statistics = statistics ?? new IndexStatistics(reader);
        Analyzer = Analyzer.Create(reader.Analyzer);
        _denseFactory = denseFactory ?? DefaultDenseFactory;
    }

    /// <summary>Set by the dense module when it is loaded, so the core does not depend on ONNX Runtime.</summary>
    public static Func<IndexReader, string, IDenseRetriever>? DefaultDenseFactory { get; set; }

    public IndexReader Reader { get; }
    public ICollectionStatistics Statistics { get; }
    public Analyzer Analyzer { get; }

    public Bm25Searcher Bm25(Bm25Parameters p) => _bm25.GetOrAdd(p, x => new Bm25Searcher(Reader, x, Statistics));

    public QueryLikelihoodSearcher QueryLikelihood(float mu) => _ql.GetOrAdd(mu, m => new QueryLikelihoodSearcher(Reader, m, Statistics));

    public IDenseRetriever Dense(string model) => _dense.GetOrAdd(model, m =>
        (_denseFactory ?? throw new RelevoException($"dense({m}): dense retrieval is not available in this build"))(Reader, m));
}
