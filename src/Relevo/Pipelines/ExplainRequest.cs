using System.Text.Json;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>What explains a BM25 hit where its document lives (a shard, in this process or on a silo), as the sharded
/// search scored it: the stage (its canonical text), the query's terms and weights, and the collection-wide statistics
/// of those terms. Sent as the argument of the <see cref="Operation"/> document operation; the answer is the
/// explanation as JSON.</summary>
internal sealed record ExplainRequest(string Stage, string[] Terms, float[] Weights, long DocCount, long SumTotalTermFreq,
    long[] DocFreqs, long[] TotalTermFreqs) : ICollectionStatistics
{
    public const string Operation = "bm25.explain";

    public long DocFreq(string term) => DocFreqs[IndexOf(term)];

    public long TotalTermFreq(string term) => TotalTermFreqs[IndexOf(term)];

    private int IndexOf(string term)
    {
        int i = Array.IndexOf(Terms, term);
        return i >= 0 ? i : throw new InvalidOperationException($"no statistics for term '{term}' in the explanation request");
    }

    /// <summary>The document operation: explains the document at (segment, doc) of the shard's commit.</summary>
    public static byte[] Run(ExtensionRegistry registry, IndexReader reader, string argument, int segment, int doc)
    {
        var request = JsonSerializer.Deserialize<ExplainRequest>(argument)
            ?? throw new RelevoException("bm25.explain: an empty request");
        if (Pipeline.Parse(request.Stage, registry).Root is not Bm25Stage stage)
            throw new RelevoException($"bm25.explain: '{request.Stage}' is not a bm25 stage");
        var terms = new (string Term, float Weight)[request.Terms.Length];
        for (int i = 0; i < terms.Length; i++) terms[i] = (request.Terms[i], request.Weights[i]);
        var explanation = stage.Explain(reader, new Query(string.Join(' ', request.Terms), terms), new Hit("", 0, segment, doc), request);
        return JsonSerializer.SerializeToUtf8Bytes(explanation);
    }
}
