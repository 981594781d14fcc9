using Relevo.Index;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>A <see cref="DenseSearcher"/> as a pipeline retriever. Query texts announced through
/// <see cref="PrepareQueries"/> are embedded together in length-sorted batches (much faster than one at a time on
/// a CPU) and remembered, so a run of many queries pays the model once per query text.</summary>
public sealed class DenseRetriever : IDenseRetriever, IDisposable
{
    private readonly DenseSearcher _searcher;
    private readonly QueryVectorCache _queryVectors;

    public DenseRetriever(IndexReader reader, string model, DenseSearchOptions? options = null)
    {
        _searcher = new DenseSearcher(reader, model, options: options);
        _queryVectors = new QueryVectorCache(() => _searcher.Encoder);
    }

    public string Model => _searcher.Model;

    public void PrepareQueries(IReadOnlyList<string> texts) => _queryVectors.Prepare(texts);

    public float[] EmbedQuery(string text) => _queryVectors.Get(text);

    public IReadOnlyList<SearchHit> Search(string queryText, int k) => _searcher.Search(EmbedQuery(queryText), k);

    public IReadOnlyList<SearchHit> Search(ReadOnlySpan<float> queryVector, int k) => _searcher.Search(queryVector, k);

    public float[] GetVector(int segment, int doc) => _searcher.GetVector(segment, doc).ToArray();

    public void Dispose() => _searcher.Dispose();
}
