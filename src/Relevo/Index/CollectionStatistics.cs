
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
    /// <summary>The statistics of one text field (the concatenated field: these), from the keys
    /// <see cref="FieldStatisticsKeys"/> names.</summary>
    public ICollectionStatistics ForField(string field) =>
        field == FieldStatisticsKeys.Contents ? this : new FieldSlice(this, field);

    private sealed class FieldSlice(GlobalStatistics all, string name) : ICollectionStatistics
    {
        public long DocCount => all.DocFreq(FieldStatisticsKeys.Totals(name));
        public long SumTotalTermFreq => all.TotalTermFreq(FieldStatisticsKeys.Totals(name));
        public long DocFreq(string term) => all.DocFreq(FieldStatisticsKeys.Term(name, term));
        public long TotalTermFreq(string term) => all.TotalTermFreq(FieldStatisticsKeys.Term(name, term));
    }

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

/// <summary>How the statistics of a text field travel between shards in the term lists of the statistics messages:
/// a term of the concatenated field as itself; a term of another field as "\u0001field\u0001term"; a field's totals
/// (documents with the field, summed lengths) as "\u0002field", its document count in the document-frequency slot and
/// its summed length in the total-term-frequency slot. Analysed terms never hold these control characters.</summary>
internal static class FieldStatisticsKeys
{
    public const string Contents = "contents";

    public static string Term(string field, string term) => field == Contents ? term : "\u0001" + field + "\u0001" + term;

    public static string Totals(string field) => "\u0002" + field;

    /// <summary>A key's field and term (term null: the field's totals); false for a term of the concatenated field.</summary>
    public static bool TryParse(string key, out string field, out string? term)
    {
        field = "";
        term = null;
        if (key.Length > 1 && key[0] == '\u0002') { field = key[1..]; return true; }
        if (key.Length > 2 && key[0] == '\u0001')
        {
            int at = key.IndexOf('\u0001', 1);
            if (at < 0) return false;
            field = key[1..at];
            term = key[(at + 1)..];
            return true;
        }
        return false;
    }
}
