using Relevo.Analysis;
using Relevo.Index;
using Relevo.Search.Similarities;

namespace Relevo.Search;

/// <summary>Ranks the documents of one index commit with a sparse model (BM25, query likelihood) for bag-of-words
/// queries: query → <see cref="Weight{TScorer}"/> (the model over the statistics) → per-segment scorers →
/// <see cref="TopKCollector"/>. Thread-safe: many queries may run at once on one searcher.</summary>
internal class SparseSearcher<TScorer> where TScorer : struct, ITermScorer
{
    private readonly ISimilarity<TScorer> _similarity;

    public SparseSearcher(IndexReader reader, ISimilarity<TScorer> similarity)
    {
        Reader = reader;
        _similarity = similarity;
    }

    public IndexReader Reader { get; }

    /// <summary>How the top k is found; every choice returns the same documents and scores. MaxScore by default
    /// (the fastest on the benchmarks in docs/benchmarks.md).</summary>
    public PruningAlgorithm Algorithm { get; init; } = PruningAlgorithm.MaxScore;

    /// <summary>The top k as global document numbers and scores, best first (ties by smaller document number), written
    /// to the spans (each at least min(k, MaxDoc) long); returns the number of hits. Allocates nothing in steady state.
    /// Only documents above <paramref name="floor"/> are kept; <paramref name="shared"/> is a bound shared with the
    /// searches of the same query's other shards.</summary>
    public int SearchDocs(Query query, int k, Span<int> docs, Span<float> scores, PruningAlgorithm? algorithm = null,
        float floor = float.NegativeInfinity, SharedBound? shared = null, Filters.DocFilter? filter = null)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        return Weight<TScorer>.ForThread().For(query, _similarity).Search(Reader, k, algorithm ?? Algorithm, docs, scores, floor, shared, filter);
    }

    /// <summary>The exact scores of given documents of this commit (see <see cref="Weight{TScorer}.ScoreDocs"/>).</summary>
    public void ScoreDocs(Query query, ReadOnlySpan<int> segment, ReadOnlySpan<int> doc, Span<float> scores) =>
        Weight<TScorer>.ForThread().For(query, _similarity).ScoreDocs(Reader.Segments, segment, doc, scores);

    /// <summary>The top k documents.</summary>
    public IReadOnlyList<Hit> Search(Query query, int k, PruningAlgorithm? algorithm = null, float floor = float.NegativeInfinity, SharedBound? shared = null) =>
        Reader.TopHits(k, (docs, scores) => SearchDocs(query, k, docs, scores, algorithm, floor, shared));
}

/// <summary>BM25 (Lucene's, Anserini's defaults) over one commit, with explanations.</summary>
internal sealed class Bm25Searcher : SparseSearcher<Bm25TermScorer>
{
    private readonly Bm25Similarity _bm25;

    public Bm25Searcher(IndexReader reader, Bm25Parameters? parameters = null, ICollectionStatistics? statistics = null)
        : this(reader, new Bm25Similarity(parameters ?? new Bm25Parameters(), statistics ?? reader.Statistics)) { }

    private Bm25Searcher(IndexReader reader, Bm25Similarity similarity) : base(reader, similarity) => _bm25 = similarity;

    public Bm25Parameters Parameters => _bm25.Parameters;
    public Analyzer Analyzer => Reader.AnalyzerInstance;

    public IReadOnlyList<Hit> Search(string queryText, int k) => Search(Query.Parse(queryText, Analyzer), k);

    /// <summary>Each query term's contribution to a document's score; they add up to the score Search returns.</summary>
    public Explanation Explain(Query query, Hit hit)
    {
        var stats = _bm25.Statistics;
        var seg = Reader.Segments[hit.Segment];
        byte norm = seg.Norms[hit.Doc];
        int length = SmallFloat.Byte4ToInt(norm);
        var terms = new List<TermContribution>();
        double total = 0;
        foreach (var (term, weight) in query.Terms)
        {
            long df = stats.DocFreq(term);
            if (df == 0 || weight <= 0) continue;
            float idf = Bm25Scorer.Idf(df, stats.DocCount);
            int tf = TermFrequency(seg, term, hit.Doc);
            float contribution = tf == 0 ? 0f : Bm25Scorer.Score(weight * idf, tf, _bm25.NormInverse(norm));
            total += contribution;
            terms.Add(new TermContribution(term, weight, df, idf, tf, length, _bm25.AverageLength, contribution));
        }
        return new Explanation(hit.Id, (float)total, "bm25") { K1 = Parameters.K1, B = Parameters.B, DocCount = stats.DocCount, Terms = terms };
    }

    internal static int TermFrequency(SegmentReader seg, string term, int doc)
    {
        int ord = seg.FindTerm(term);
        return ord < 0 ? 0 : seg.Postings(ord).FrequencyOf(doc);
    }
}

/// <summary>Query likelihood with Dirichlet smoothing over one commit, pruned by the same MaxScore / block-max WAND.</summary>
internal sealed class QueryLikelihoodSearcher : SparseSearcher<DirichletTermScorer>
{
    private readonly DirichletSimilarity _ql;

    public QueryLikelihoodSearcher(IndexReader reader, float mu = 1000f, ICollectionStatistics? statistics = null)
        : this(reader, new DirichletSimilarity(mu, statistics ?? reader.Statistics)) { }

    private QueryLikelihoodSearcher(IndexReader reader, DirichletSimilarity similarity) : base(reader, similarity) => _ql = similarity;

    public float Mu => _ql.Mu;

    /// <summary>Each query term's contribution to a document's score (ln(1 + tf / (mu P(t|C))) + ln(mu / (dl + mu)),
    /// times the weight, floored at 0, for the terms the document has); they add up to the score Search returns.</summary>
    public Explanation Explain(Query query, Hit hit)
    {
        var stats = _ql.Statistics;
        var seg = Reader.Segments[hit.Segment];
        byte norm = seg.Norms[hit.Doc];
        int length = SmallFloat.Byte4ToInt(norm);
        float average = Bm25Scorer.AverageLength(stats.SumTotalTermFreq, stats.DocCount);
        var terms = new List<TermContribution>();
        double total = 0;
        foreach (var (term, weight) in query.Terms)
        {
            if (!_ql.TryGetScorer(term, weight, out var scorer)) continue;
            int tf = Bm25Searcher.TermFrequency(seg, term, hit.Doc);
            float contribution = tf == 0 ? 0f : scorer.Score(tf, norm);
            total += contribution;
            terms.Add(new TermContribution(term, weight, stats.DocFreq(term),
                DirichletTermScorer.CollectionProbability(stats.TotalTermFreq(term), stats.SumTotalTermFreq), tf, length, average, contribution));
        }
        return new Explanation(hit.Id, (float)total, "ql") { Mu = Mu, DocCount = stats.DocCount, Terms = terms };
    }
}
