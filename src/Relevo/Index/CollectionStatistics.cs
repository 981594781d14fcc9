
namespace Relevo.Index;

/// <summary>The collection-wide numbers BM25 needs. A searcher takes them from its own index by default; a
/// sharded deployment passes statistics gathered from every shard so each shard scores as one index would.</summary>
internal interface ICollectionStatistics
{
    /// <summary>Documents that have at least one indexed term (Lucene's docCount).</summary>
    long DocCount { get; }
    /// <summary>Sum of all document lengths in terms.</summary>
    long SumTotalTermFreq { get; }
    /// <summary>Documents containing the term.</summary>
    long DocFreq(string term);
    /// <summary>Occurrences of the term in the whole collection.</summary>
    long TotalTermFreq(string term);
}

/// <summary>Statistics of one index commit. As in Lucene, deleted documents still count until a merge removes them.</summary>
internal sealed class IndexStatistics : ICollectionStatistics
{
    private readonly IndexReader _reader;

    public IndexStatistics(IndexReader reader)
    {
        _reader = reader;
        foreach (var s in reader.Manifest.Segments)
        {
            DocCount += s.DocsWithTerms;
            SumTotalTermFreq += s.SumTotalTermFreq;
        }
    }

    public long DocCount { get; }
    public long SumTotalTermFreq { get; }

    public long DocFreq(string term)
    {
        long df = 0;
        var segments = _reader.Segments;
        for (int i = 0; i < segments.Count; i++) // indexer, not foreach: no enumerator per query term
        {
            var s = segments[i];
            int ord = s.FindTerm(term);
            if (ord >= 0) df += s.DocFreq(ord);
        }
        return df;
    }

    public long TotalTermFreq(string term)
    {
        long ttf = 0;
        var segments = _reader.Segments;
        for (int i = 0; i < segments.Count; i++) // indexer, not foreach: no enumerator per query term
        {
            var s = segments[i];
            int ord = s.FindTerm(term);
            if (ord >= 0) ttf += s.TotalTermFreq(ord);
        }
        return ttf;
    }
}
