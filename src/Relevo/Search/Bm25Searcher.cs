using Relevo.Analysis;
using Relevo.Index;
using Relevo.Index.Formats.V1;
using Relevo.Search.Pruning;

namespace Relevo.Search;

/// <summary>Ranks the documents of one index commit by BM25 for bag-of-words queries. Thread-safe: many queries
/// may run at once on one searcher.</summary>
public sealed class Bm25Searcher
{
    private readonly IndexReader _reader;
    private readonly ICollectionStatistics _stats;
    private readonly float _avgdl;
    private readonly float[] _normInverse;

    public Bm25Parameters Parameters { get; }

    /// <summary>How the top k is found; every choice returns the same documents and scores. MaxScore by default
    /// (the fastest on the benchmarks in docs/benchmarks.md).</summary>
    public PruningAlgorithm Algorithm { get; init; } = PruningAlgorithm.MaxScore;
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

    /// <summary>The top k documents by BM25, found with <see cref="Algorithm"/>.</summary>
    public IReadOnlyList<SearchHit> Search(Query query, int k) => Search(query, k, Algorithm);

    /// <summary>The top k documents by BM25 with a chosen algorithm (tests and benchmarks compare them).</summary>
    public IReadOnlyList<SearchHit> Search(Query query, int k, PruningAlgorithm algorithm)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (algorithm == PruningAlgorithm.Exhaustive)
        {
            var terms = new List<(string, Bm25TermScorer)>(query.Terms.Count);
            foreach (var (term, weight) in TermWeights(query)) terms.Add((term, new Bm25TermScorer(weight, _normInverse)));
            return ExhaustiveScorer.Search(_reader, terms, k);
        }
        int cap = Math.Min(k, Math.Max(_reader.MaxDoc, 1));
        var docs = new int[cap];
        var scores = new float[cap];
        int n = SearchDocs(query, k, docs, scores, algorithm);
        var ranked = new (int, float)[n];
        for (int i = 0; i < n; i++) ranked[i] = (docs[i], scores[i]);
        return SearchHits.FromGlobalDocs(_reader, ranked);
    }

    /// <summary>The top k as global document numbers and scores, best first (ties by smaller document number), written
    /// to the spans (each at least min(k, MaxDoc) long); returns the number of hits. Allocates nothing in steady state.</summary>
    public int SearchDocs(Query query, int k, Span<int> docs, Span<float> scores) => SearchDocs(query, k, docs, scores, Algorithm);

    /// <inheritdoc cref="SearchDocs(Query, int, Span{int}, Span{float})"/>
    public int SearchDocs(Query query, int k, Span<int> docs, Span<float> scores, PruningAlgorithm algorithm) =>
        SearchDocs(query, k, docs, scores, algorithm, float.NegativeInfinity, null);

    /// <summary>The top k of one shard of a larger collection (the statistics are the whole collection's): only
    /// documents scoring above <paramref name="floor"/> are returned, and <paramref name="shared"/> (if given) is the
    /// k-th-score bound this search shares with the other shards' searches of the same query in this process. Either
    /// only lets the pruning skip documents that cannot be in the collection-wide top k.</summary>
    public IReadOnlyList<SearchHit> SearchShard(Query query, int k, float floor, SharedBound? shared)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        int cap = Math.Min(k, Math.Max(_reader.MaxDoc, 1));
        var docs = new int[cap];
        var scores = new float[cap];
        int n = SearchDocs(query, k, docs, scores, Algorithm, floor, shared);
        var ranked = new (int, float)[n];
        for (int i = 0; i < n; i++) ranked[i] = (docs[i], scores[i]);
        return SearchHits.FromGlobalDocs(_reader, ranked);
    }

    private int SearchDocs(Query query, int k, Span<int> docs, Span<float> scores, PruningAlgorithm algorithm,
        float floor, SharedBound? shared)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (algorithm == PruningAlgorithm.Exhaustive)
        {
            var hits = Search(query, k, algorithm);
            for (int i = 0; i < hits.Count; i++)
            {
                docs[i] = _reader.DocBase[hits[i].Segment] + hits[i].Doc;
                scores[i] = hits[i].Score;
            }
            return hits.Count;
        }
        var ev = QueryEvaluator.Current;
        ev.BeginQuery();
        var terms = query.Terms;
        for (int i = 0; i < terms.Count; i++)
        {
            var (term, weight) = terms[i];
            long df = _stats.DocFreq(term);
            if (df == 0 || weight <= 0) continue;
            ev.AddTerm(term, weight * Bm25Scorer.Idf(df, _stats.DocCount));
        }
        return ev.Search(_reader, _normInverse, k, algorithm, docs, scores, floor, shared);
    }

    /// <summary>Per query term: weight × idf, the factor in front of the tf part (Lucene's boost × idf).</summary>
    private List<(string Term, float Weight)> TermWeights(Query query)
    {
        var list = new List<(string, float)>(query.Terms.Count);
        foreach (var (term, weight) in query.Terms)
        {
            long df = _stats.DocFreq(term);
            if (df == 0 || weight <= 0) continue;
            list.Add((term, weight * Bm25Scorer.Idf(df, _stats.DocCount)));
        }
        return list;
    }

    /// <summary>Each query term's contribution to a document's score; they add up to the score Search returns.</summary>
    public Explanation Explain(Query query, SearchHit hit)
    {
        var seg = _reader.Segments[hit.Segment];
        byte norm = seg.Norms[hit.Doc];
        int length = SmallFloat.Byte4ToInt(norm);
        var terms = new List<TermContribution>();
        double total = 0;
        foreach (var (term, weight) in query.Terms)
        {
            long df = _stats.DocFreq(term);
            if (df == 0 || weight <= 0) continue;
            float idf = Bm25Scorer.Idf(df, _stats.DocCount);
            int tf = TermFrequency(seg, term, hit.Doc);
            float contribution = tf == 0 ? 0f : Bm25Scorer.Score(weight * idf, tf, _normInverse[norm]);
            total += contribution;
            terms.Add(new TermContribution(term, weight, df, idf, tf, length, _avgdl, contribution));
        }
        return new Explanation(hit.DocId, (float)total, Parameters.K1, Parameters.B, _stats.DocCount, terms);
    }

    internal static int TermFrequency(SegmentReader seg, string term, int doc)
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
