using System.Collections.Concurrent;
using Relevo.Dense;
using Relevo.Search;

namespace Relevo.Sharding;

/// <summary>Runs pipelines over a sharded index: each retriever searches every shard with global statistics and the
/// shards' lists are merged before any later stage (fusion included) sees them, so a fused pipeline ranks as it
/// does on one index. Dense queries are embedded here, once, and the vector is sent to the shards.</summary>
public sealed class ClusterBackend(ClusterSearcher searcher, Func<string, EmbeddingModel>? loadModel = null) : ISearchBackend, IDisposable
{
    private readonly ConcurrentDictionary<DenseSpec, ClusterDenseRetriever> _dense = new();
    private readonly ConcurrentDictionary<string, Lazy<EmbeddingModel>> _models = new(StringComparer.Ordinal);

    public ClusterSearcher Searcher => searcher;
    public string AnalyzerName => searcher.Analyzer.Name;

    public IReadOnlyList<SearchHit> Bm25(Bm25Parameters parameters, Query query, int k) =>
        searcher.SearchBm25Async(query, k, parameters).GetAwaiter().GetResult();

    public IReadOnlyList<SearchHit> QueryLikelihood(float mu, Query query, int k) =>
        searcher.SearchQueryLikelihoodAsync(query, k, mu).GetAwaiter().GetResult();

    public IDenseRetriever Dense(DenseSpec spec) => _dense.GetOrAdd(spec, s => new ClusterDenseRetriever(this, s));

    internal EmbeddingModel Model(string name) =>
        _models.GetOrAdd(EmbeddingModel.ResolveName(name), n => new Lazy<EmbeddingModel>(
            () => loadModel is null ? EmbeddingModel.Load(name) : loadModel(name), LazyThreadSafetyMode.ExecutionAndPublication)).Value;

    public void Dispose()
    {
        foreach (var m in _models.Values)
            if (m.IsValueCreated) m.Value.Dispose();
    }

    private sealed class ClusterDenseRetriever(ClusterBackend backend, DenseSpec spec) : IDenseRetriever
    {
        private readonly QueryVectorCache _queryVectors = new(() => backend.Model(spec.Model));

        public string Model => EmbeddingModel.ResolveName(spec.Model);

        public void PrepareQueries(IReadOnlyList<string> texts) => _queryVectors.Prepare(texts);

        public float[] EmbedQuery(string text) => _queryVectors.Get(text);

        public IReadOnlyList<SearchHit> Search(string queryText, int k) => Search(EmbedQuery(queryText), k);

        public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> queryVector, int k) =>
            backend.Searcher.SearchDenseAsync(spec, queryVector.ToArray(), k).GetAwaiter().GetResult();

        /// <summary>The stored vector of a hit (segment = shard, doc = document number in the shard).</summary>
        public float[] GetVector(int segment, int doc) =>
            backend.Searcher.Shard(segment).VectorAsync(backend.Searcher.Version, spec.Model, doc).GetAwaiter().GetResult()
            ?? throw new RelevoException($"shard {segment} has no document {doc} any more");
    }
}
