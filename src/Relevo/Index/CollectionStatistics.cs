
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

    public long DocFreq(string term) => DocFreq(_reader.Segments, term);

    public long TotalTermFreq(string term) => TotalTermFreq(_reader.Segments, term);

    /// <summary>Documents containing the term, summed over <paramref name="segments"/> (a commit's, or a field's postings
    /// of them).</summary>
    internal static long DocFreq(IReadOnlyList<SegmentReader> segments, string term)
    {
        long df = 0;
        for (int i = 0; i < segments.Count; i++) // indexer, not foreach: no enumerator per query term
        {
            var s = segments[i];
            int ord = s.FindTerm(term);
            if (ord >= 0) df += s.DocFreq(ord);
        }
        return df;
    }

    /// <summary>Occurrences of the term, summed over <paramref name="segments"/>.</summary>
    internal static long TotalTermFreq(IReadOnlyList<SegmentReader> segments, string term)
    {
        long ttf = 0;
        for (int i = 0; i < segments.Count; i++) // indexer, not foreach: no enumerator per query term
        {
            var s = segments[i];
            int ord = s.FindTerm(term);
            if (ord >= 0) ttf += s.TotalTermFreq(ord);
        }
        return ttf;
    }
}

/// <summary>Collection-wide statistics of some terms, given rather than read from a commit: what every shard of a
/// sharded index scores with (the shards' statistics summed), so that a sharded search ranks, and explains, as one
/// index would. Only these terms are known.</summary>
internal sealed record GlobalStatistics(long DocCount, long SumTotalTermFreq, string[] Terms, long[] DocFreqs, long[] TotalTermFreqs)
    : ICollectionStatistics
{
    public long DocFreq(string term)
    {
        int i = Array.IndexOf(Terms, term);
        return i < 0 ? throw new InvalidOperationException($"no global statistics for term '{term}'") : DocFreqs[i];
    }

    public long TotalTermFreq(string term)
    {
        int i = Array.IndexOf(Terms, term);
        return i < 0 ? throw new InvalidOperationException($"no global statistics for term '{term}'") : TotalTermFreqs[i];
    }
}
