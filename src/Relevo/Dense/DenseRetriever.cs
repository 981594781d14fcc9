using System.Collections.Concurrent;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>A <see cref="DenseSearcher"/> as a pipeline retriever. Query texts announced through
/// <see cref="PrepareQueries"/> are embedded together in length-sorted batches (much faster than one at a time on
/// a CPU) and remembered, so a run of many queries pays the model once per query text.</summary>
public sealed class DenseRetriever : IDenseRetriever, IDisposable
{
    private readonly DenseSearcher _searcher;
    private readonly ConcurrentDictionary<string, float[]> _queryVectors = new(StringComparer.Ordinal);

    public DenseRetriever(IndexReader reader, string model, DenseSearchOptions? options = null) =>
        _searcher = new DenseSearcher(reader, model, options: options);

    public string Model => _searcher.Model;

    public void PrepareQueries(IReadOnlyList<string> texts)
    {
        var missing = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in texts)
            if (!_queryVectors.ContainsKey(t) && seen.Add(t)) missing.Add(t);
        if (missing.Count == 0) return;
        int dims = _searcher.Dimensions;
        var vectors = new float[missing.Count * dims];
        _searcher.Encoder.EmbedQueries(missing, vectors);
        for (int i = 0; i < missing.Count; i++) _queryVectors[missing[i]] = vectors.AsSpan(i * dims, dims).ToArray();
    }

    public float[] EmbedQuery(string text) => _queryVectors.GetOrAdd(text, t => _searcher.EmbedQuery(t));

    public IReadOnlyList<SearchHit> Search(string queryText, int k) => _searcher.Search(EmbedQuery(queryText), k);

    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> queryVector, int k) => _searcher.Search(queryVector, k);

    public float[] GetVector(int segment, int doc) => _searcher.GetVector(segment, doc).ToArray();

    public void Dispose() => _searcher.Dispose();
}
