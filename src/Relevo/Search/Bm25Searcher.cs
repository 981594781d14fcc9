using Relevo.Analysis;
using Relevo.Index;
using Relevo.Index.Formats.V1;

namespace Relevo.Search;

/// <summary>Ranks the documents of one index commit by BM25 for bag-of-words queries. Thread-safe: many queries
/// may run at once on one searcher.</summary>
public sealed class Bm25Searcher
{
    private readonly IndexReader _reader;
    private readonly ICollectionStatistics _stats;
    private readonly float _avgdl;
    private readonly float[] _normInverse;

    [ThreadStatic] private static double[]? t_scores;
    [ThreadStatic] private static int[]? t_touched;

    public Bm25Parameters Parameters { get; }
    public Analyzer Analyzer { get; }
    public IndexReader Reader => _reader;
    public ICollectionStatistics Statistics => _stats;

    public Bm25Searcher(IndexReader reader, Bm25Parameters? parameters = null, ICollectionStatistics? statistics = null)
    {
        _reader = reader;
        Parameters = parameters ?? new Bm25Parameters();
        _stats = statistics ?? new IndexStatistics(reader);
        Analyzer = Analyzer.Create(reader.Analyzer);
        _avgdl = Bm25Scorer.AverageLength(_stats.SumTotalTermFreq, _stats.DocCount);
        _normInverse = Bm25Scorer.NormInverseTable(Parameters.K1, Parameters.B, _avgdl);
    }

    public IReadOnlyList<SearchHit> Search(string queryText, int k) => Search(Query.Parse(queryText, Analyzer), k);

    /// <summary>Exhaustive term-at-a-time scoring: every posting of every query term is scored. This is the
    /// reference the pruning algorithms are checked against.</summary>
    public IReadOnlyList<SearchHit> Search(Query query, int k)
    {
        var weights = TermWeights(query);
        var top = new TopKCollector(k);
        for (int s = 0; s < _reader.Segments.Count; s++)
        {
            var seg = _reader.Segments[s];
            int docBase = _reader.DocBase[s];
            var scores = t_scores is { } ts && ts.Length >= seg.MaxDoc ? ts : (t_scores = new double[Math.Max(seg.MaxDoc, 1024)]);
            var touched = t_touched is { } tt && tt.Length >= seg.MaxDoc ? tt : (t_touched = new int[Math.Max(seg.MaxDoc, 1024)]);
            int nTouched = 0;
            var norms = seg.Norms;
            foreach (var (term, weight) in weights)
            {
                int ord = seg.FindTerm(term);
                if (ord < 0) continue;
                var cursor = seg.Postings(ord);
                for (int b = 0; b < cursor.BlockCount; b++)
                {
                    cursor.ReadBlock(b);
                    var docs = cursor.Docs;
                    var freqs = cursor.Freqs;
                    for (int i = 0; i < cursor.BlockLength; i++)
                    {
                        int d = docs[i];
                        if (scores[d] == 0) touched[nTouched++] = d;
                        scores[d] += Bm25Scorer.Score(weight, freqs[i], _normInverse[norms[d]]);
                    }
                }
            }
            for (int i = 0; i < nTouched; i++)
            {
                int d = touched[i];
                float score = (float)scores[d];
                scores[d] = 0;
                if (!seg.IsDeleted(d)) top.Collect(docBase + d, score);
            }
        }
        var ranked = top.Drain();
        var hits = new SearchHit[ranked.Length];
        for (int i = 0; i < ranked.Length; i++)
        {
            var (global, score) = ranked[i];
            int s = SegmentOf(global);
            int doc = global - _reader.DocBase[s];
            hits[i] = new SearchHit(_reader.Segments[s].GetId(doc), score, s, doc);
        }
        return hits;
    }

    /// <summary>Per query term: count × idf, the factor in front of the tf part (Lucene's boost × idf).</summary>
    private List<(string Term, float Weight)> TermWeights(Query query)
    {
        var list = new List<(string, float)>(query.Terms.Count);
        foreach (var (term, count) in query.Terms)
        {
            long df = _stats.DocFreq(term);
            if (df == 0) continue;
            list.Add((term, count * Bm25Scorer.Idf(df, _stats.DocCount)));
        }
        return list;
    }

    private int SegmentOf(int globalDoc)
    {
        var bases = _reader.DocBase;
        int lo = 0, hi = bases.Count - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (bases[mid] <= globalDoc) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>Each query term's contribution to a document's score; they add up to the score Search returns.</summary>
    public Explanation Explain(Query query, SearchHit hit)
    {
        var seg = _reader.Segments[hit.Segment];
        byte norm = seg.Norms[hit.Doc];
        int length = SmallFloat.Byte4ToInt(norm);
        var terms = new List<TermContribution>();
        double total = 0;
        foreach (var (term, count) in query.Terms)
        {
            long df = _stats.DocFreq(term);
            if (df == 0) continue;
            float idf = Bm25Scorer.Idf(df, _stats.DocCount);
            int tf = TermFrequency(seg, term, hit.Doc);
            float contribution = tf == 0 ? 0f : Bm25Scorer.Score(count * idf, tf, _normInverse[norm]);
            total += contribution;
            terms.Add(new TermContribution(term, count, df, idf, tf, length, _avgdl, contribution));
        }
        return new Explanation(hit.DocId, (float)total, Parameters.K1, Parameters.B, _stats.DocCount, terms);
    }

    private static int TermFrequency(SegmentReader seg, string term, int doc)
    {
        int ord = seg.FindTerm(term);
        if (ord < 0) return 0;
        var cursor = seg.Postings(ord);
        for (int b = 0; b < cursor.BlockCount; b++)
        {
            if (cursor.BlockLastDoc(b) < doc) continue;
            cursor.ReadBlock(b);
            for (int i = 0; i < cursor.BlockLength; i++)
                if (cursor.Docs[i] == doc) return cursor.Freqs[i];
            return 0;
        }
        return 0;
    }
}
