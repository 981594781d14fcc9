using Relevo.Index;
using Relevo.Index.Impacts;
using Relevo.Search.Similarities;

namespace Relevo.Search;

/// <summary>Ranks one commit by its stored quantized impacts: a document's score is the sum over query terms of the
/// term's query weight times the document's impact for it (summed in double in query-term order, as every sparse
/// model here), found by the same MaxScore / block-max WAND over per-block maximum impacts. Thread-safe.</summary>
internal sealed class ImpactSearcher
{
    private readonly ImpactView _view;
    private readonly ImpactSimilarity _similarity;

    public ImpactSearcher(IndexReader reader, ImpactView view, ICollectionStatistics? statistics = null)
    {
        Reader = reader;
        _view = view;
        Statistics = statistics ?? reader.Statistics;
        _similarity = new ImpactSimilarity(Statistics);
    }

    /// <summary>The statistics the search runs under: the commit's, or the collection-wide ones given for a shard.</summary>
    public ICollectionStatistics Statistics { get; }

    /// <summary>The searcher of a commit's impacts under <paramref name="key"/>: shared per reader, or one over given
    /// (collection-wide) statistics.</summary>
    public static ImpactSearcher For(IndexReader reader, string key, ICollectionStatistics? statistics)
    {
        var view = ImpactView.Of(reader, key);
        return statistics is null
            ? reader.Component("search.impacts." + key, r => new ImpactSearcher(r, view))
            : new ImpactSearcher(reader, view, statistics);
    }

    public IndexReader Reader { get; }
    public ImpactSettings Settings => _view.Settings;

    /// <summary>The top k into the spans (global document numbers, best first, ties by smaller number); returns how many.</summary>
    public int SearchDocs(Query query, int k, Span<int> docs, Span<float> scores, PruningAlgorithm? algorithm = null,
        float floor = float.NegativeInfinity, SharedBound? shared = null, Filters.DocFilter? filter = null)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        return Weight<ImpactTermScorer>.ForThread().For(query, _similarity)
            .Search(_view.Segments, _view.DocBase, k, algorithm ?? PruningAlgorithm.MaxScore, docs, scores, floor, shared, filter);
    }

    public IReadOnlyList<Hit> Search(Query query, int k, PruningAlgorithm? algorithm = null) =>
        Reader.TopHits(k, (docs, scores) => SearchDocs(query, k, docs, scores, algorithm));

    /// <summary>Each query term's share of a hit's score: its weight times the document's impact (reported as the
    /// contribution; tf is the term's real frequency, idf BM25's under the statistics searched with, for reading). They add
    /// up to the score the search returned.</summary>
    public Explanation Explain(Query query, Hit hit)
    {
        var seg = (ImpactSegmentReader)_view.Segments[hit.Segment];
        var original = Reader.Segments[hit.Segment];
        var stats = Statistics;
        int length = SmallFloat.Byte4ToInt(original.Norms[hit.Doc]);
        var terms = new List<TermContribution>();
        double total = 0;
        foreach (var (term, weight) in query.Terms)
        {
            long df = stats.DocFreq(term);
            if (df == 0 || !(weight > 0)) continue;
            int ord = seg.FindTerm(term);
            int impact = ord < 0 ? 0 : seg.Impact(ord, hit.Doc);
            float contribution = new ImpactTermScorer(weight).Score(impact, 0);
            total += contribution;
            int tf = Bm25Searcher.TermFrequency(original, term, hit.Doc);
            terms.Add(new TermContribution(term, weight, df, Bm25Scorer.Idf(df, stats.DocCount), tf, length,
                Bm25Scorer.AverageLength(stats.SumTotalTermFreq, stats.DocCount), contribution));
        }
        return new Explanation(hit.Id, (float)total, "impact") { K1 = Settings.K1, B = Settings.B, DocCount = stats.DocCount, Terms = terms };
    }
}
